package api

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// ValidateDisplayText checks free text shown to people (a tenant's display
// name): valid UTF-8 without control or format characters (ESC, newlines,
// bidi overrides), which would rewrite a terminal or a table when printed.
func ValidateDisplayText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("must be valid UTF-8")
	}
	for i, r := range s {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return fmt.Errorf("must not contain control or format characters: %U at byte %d", r, i)
		}
	}
	return nil
}

// displayNameError is ValidateDisplayText of a tenant's display name as a 422.
func displayNameError(s string) error {
	if err := ValidateDisplayText(s); err != nil {
		return fieldError("body.displayName", s, err)
	}
	return nil
}
