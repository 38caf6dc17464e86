package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"sigs.k8s.io/yaml"
)

func validOutput(o string) error {
	switch o {
	case "table", "json", "yaml":
		return nil
	}
	return fmt.Errorf("--output %q: must be table, json or yaml", o)
}

// print writes v as JSON or YAML, or the header and rows as a table.
func (g *globals) print(v any, header []string, rows [][]string) error {
	switch g.output {
	case "json":
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = g.stdout.Write(b)
		return err
	}
	return g.table(header, rows)
}

// table writes the header and rows aligned in columns, with control
// characters escaped.
func (g *globals) table(header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	for i, h := range header {
		if i > 0 {
			fmt.Fprint(tw, "\t")
		}
		fmt.Fprint(tw, printable(h))
	}
	fmt.Fprintln(tw)
	for _, r := range rows {
		for i, c := range r {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			// Text from the server must not drive the terminal.
			fmt.Fprint(tw, printable(c))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// dash is s, or "-" for an empty cell.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
