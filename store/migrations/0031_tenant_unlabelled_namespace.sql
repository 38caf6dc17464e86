-- Tenants that existed before this migration may have a namespace that an
-- older ferry made without the ferry.io/tenant-id owner label; only such a
-- tenant's namespace may be relabelled, once, when the tenants reconciler
-- finds it provably ferry's (runtime/tenants/legacy.go), and the flag is
-- cleared once the namespace carries the label. A tenant made from now on
-- never has the flag: ferry creates its namespace with the label.
ALTER TABLE tenants ADD COLUMN unlabelled_namespace INTEGER NOT NULL DEFAULT 0 CHECK (unlabelled_namespace IN (0, 1));
UPDATE tenants SET unlabelled_namespace = 1;
