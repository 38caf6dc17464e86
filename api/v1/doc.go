// Package v1 is ferry's wire contract, version 1: the request and response
// types of every resource, the list envelope and its cursor, the error
// document, path templates and header names, and the names shared across
// processes (Secrets and their keys, the seed account, the notebook proxy's
// base path).
//
// Every client speaks this package: the CLI through the typed Go client
// (package client), bootstrap, the e2e tests, and (through the OpenAPI
// document generated from these types) the Python SDK and the dashboard.
// Store rows never travel to clients; the API handlers map rows onto these
// types. The package imports nothing of ferry, so any role of the binary may
// use it.
package v1
