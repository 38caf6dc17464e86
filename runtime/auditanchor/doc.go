// Package auditanchor anchors the audit log's hash chain outside the
// database: it periodically writes checkpoints (head row id and hash),
// signed with an Ed25519 key that the database does not hold, to a blob
// bucket, and checks the chain against the latest one. An edited row whose
// chain was recomputed, or rows cut off the end, no longer go unnoticed.
package auditanchor
