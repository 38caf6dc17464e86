// Command capstrip is an OCI runtime wrapper for hosts whose capability
// bounding set lacks capabilities that `docker run --privileged` asks for
// (these CI machines lack one, such as CAP_SYS_RESOURCE or CAP_SYS_MODULE). It removes capabilities the host
// cannot grant from the bundle's config.json (create, run) or the --process
// file (exec), then execs the real runc. The test set-up registers it with
// Docker; ferry itself never changes a user's Docker configuration.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ferry-ml/ferry/bootstrap/doctor"
)

// missingCaps lists the known capabilities absent from our bounding set.
func missingCaps() (map[string]bool, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "CapBnd:"); ok {
			names, err := doctor.MissingCaps(v)
			if err != nil {
				return nil, err
			}
			out := map[string]bool{}
			for _, n := range names {
				out[n] = true
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("no CapBnd in /proc/self/status")
}

// strip removes missing capabilities from every set of a process spec.
func strip(process map[string]any, missing map[string]bool) {
	caps, _ := process["capabilities"].(map[string]any)
	for set, v := range caps {
		list, ok := v.([]any)
		if !ok {
			continue
		}
		kept := []any{}
		for _, c := range list {
			if s, _ := c.(string); !missing[s] {
				kept = append(kept, c)
			}
		}
		caps[set] = kept
	}
}

func rewrite(path string, isProcess bool, missing map[string]bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	process := doc
	if !isProcess {
		process, _ = doc["process"].(map[string]any)
	}
	if process == nil {
		return nil
	}
	strip(process, missing)
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, fi.Mode().Perm())
}

// parse finds the runc subcommand, --bundle and --process in runc's argv.
func parse(args []string) (cmd, bundle, process string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() string {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "-") {
				return v
			}
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case cmd == "" && (a == "--root" || a == "--log" || a == "--log-format" || a == "--criu"):
			i++
		case cmd == "" && !strings.HasPrefix(a, "-"):
			cmd = a
		case cmd != "" && (a == "--bundle" || a == "-b" || strings.HasPrefix(a, "--bundle=")):
			bundle = value()
		case cmd != "" && (a == "--process" || a == "-p" || strings.HasPrefix(a, "--process=")):
			process = value()
		}
	}
	return cmd, bundle, process
}

func main() {
	real := os.Getenv("CAPSTRIP_RUNTIME")
	if real == "" {
		real = "/usr/sbin/runc"
	}
	args := os.Args[1:]
	if missing, err := missingCaps(); err == nil && len(missing) > 0 {
		cmd, bundle, process := parse(args)
		var err error
		switch cmd {
		case "create", "run":
			if bundle == "" {
				bundle, _ = os.Getwd()
			}
			err = rewrite(filepath.Join(bundle, "config.json"), false, missing)
		case "exec":
			if process != "" {
				err = rewrite(process, true, missing)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "capstrip:", err)
		}
	}
	err := syscall.Exec(real, append([]string{real}, args...), os.Environ())
	fmt.Fprintf(os.Stderr, "capstrip: exec %s: %v\n", real, err)
	os.Exit(127)
}
