package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestTableEscapesControlCharactersAndKeepsUnicode(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	g := &globals{stdout: &out, output: "table"}
	rows := [][]string{
		{"evil\x1b]0;pwned\x07\x1b[2J", "a\tb\r\nc"},
		{"rtl\u202eexe.txt", "bad\xffutf8"},
		{"Zürich 東京 🚀", `back\slash`},
	}
	if err := g.table([]string{"NAME", "DISPLAY NAME"}, rows); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, c := range []byte(got) {
		if c < 0x20 && c != '\n' {
			t.Fatalf("control byte %#x reached the terminal:\n%q", c, got)
		}
	}
	if strings.Contains(got, "\u202e") {
		t.Errorf("a bidi override reached the terminal: %q", got)
	}
	for _, want := range []string{`evil\x1b]0;pwned\a\x1b[2J`, `a\tb\r\nc`, `rtl\u202eexe.txt`, `bad\xffutf8`, "Zürich 東京 🚀", `back\slash`} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 4 {
		t.Errorf("%d lines, want 4 (a cell's newline must not start a row):\n%s", n, got)
	}
}
