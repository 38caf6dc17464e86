package v1

// Cursor is an opaque keyset cursor: the Next of one page, passed as the
// after= query parameter of the request for the following one. Empty means
// the first page (in a request) or the last page (in an answer).
type Cursor string

// List is the envelope of every list answer.
type List[T any] struct {
	Items []T    `json:"items" nullable:"false"`
	Next  Cursor `json:"next,omitempty" doc:"pass as after= for the next page; absent on the last page"`
}

// Page limits shared by every list endpoint.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

// ListOptions are the paging parameters of a list request.
type ListOptions struct {
	Limit int
	After Cursor
}
