// A package without database imports: Query and Begin are somebody else's methods, so
// nothing here is reported (the data-driven test lints each file with its own imports).
package nodb

import "net/url"

type enc struct{}

func (enc) Begin() (int, error) { return 0, nil }

func parse(u *url.URL, e enc) {
	q := u.Query()
	_ = q
	n, err := e.Begin()
	_, _ = n, err
}
