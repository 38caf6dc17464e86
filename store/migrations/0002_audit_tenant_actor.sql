-- Audit pages filtered by tenant and actor together walk this index instead
-- of scanning a tenant's rows for one actor.
CREATE INDEX audit_tenant_actor ON audit(tenant, actor, id);
