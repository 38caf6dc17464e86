// Package dashboard serves ferry's web dashboard: the built front end
// (web/, embedded from dist/ so the binary works air-gapped and `go build`
// needs no npm), the SPA fallback that lets every object keep a stable
// URL, and the browser login: a one-time code from `ferry ui` traded for a
// short-lived HttpOnly, SameSite=Strict session cookie.
//
// CSRF: the cookie authenticates a request only together with the header
// X-Ferry-UI: 1 (Gate). A cross-site form cannot send a custom header, and a
// cross-site script's fetch with one needs a CORS preflight that ferry never
// grants; SameSite=Strict keeps the cookie off cross-site requests anyway.
package dashboard
