package gateway

import (
	"sync"
	"time"
)

// HeaderRevision names the revision that answered a request.
const HeaderRevision = "X-Ferry-Revision"

// maxCredential bounds a credential the gateway looks at: ferry's tokens
// and keys are far shorter; a longer one is refused without a lookup.
const maxCredential = 256

// tokenCache keeps the control plane's answers for tenant tokens, keyed by
// a hash of token and route, bounded in size.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]tokenAnswer
}

type tokenAnswer struct {
	ok  bool
	exp time.Time
}

func (c *tokenCache) get(key string, now time.Time) (ok, hit bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, found := c.m[key]
	if !found || !now.Before(a.exp) {
		return false, false
	}
	return a.ok, true
}

// put stores an answer; at size it first drops expired answers, and if
// that freed nothing, a tenth of the others chosen at random (Go's map
// order), so a flood of made-up tokens cannot flush every good answer.
func (c *tokenCache) put(key string, ok bool, exp time.Time, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]tokenAnswer{}
	}
	if len(c.m) >= size {
		now := time.Now()
		for k, a := range c.m {
			if !now.Before(a.exp) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < size-size/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = tokenAnswer{ok: ok, exp: exp}
}

func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
