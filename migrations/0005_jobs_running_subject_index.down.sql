DROP INDEX IF EXISTS jobs_running_subject_idx;
