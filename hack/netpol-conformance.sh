#!/usr/bin/env bash
# The upstream NetworkPolicy e2e specs against a 3-node ferry cluster: the
# netpol set of hack/conformance.sh (make conformance), kept under its old
# name. Env as hack/conformance.sh's (FOCUS, SKIP, PROCS, KEEP, OUT).
exec "$(dirname "$0")/conformance.sh" netpol
