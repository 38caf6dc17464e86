-- Lineage: a tracking run → the pipeline step it is the run of (which step
-- made a model version, which step consumed or produced an artifact).
CREATE INDEX pipeline_steps_child_run ON pipeline_steps(child_run) WHERE child_run != '';
