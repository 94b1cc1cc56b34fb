"""Engine jobs: the job store, the runner that owns a job's process, typed requests, and upload spooling."""
