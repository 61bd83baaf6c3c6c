-- The claim skips subjects that have a job under a live lease; this keeps finding them an index probe.
CREATE INDEX jobs_running_subject_idx ON jobs (queue, subject) WHERE status = 'running';
