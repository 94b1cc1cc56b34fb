"""The engine's error types: one base class, a few kinds, each with a sentence a user can act on."""


class EngineError(Exception):
    """Base of every error the engine raises on purpose.

    ``exit_code`` follows the CLI contract: 2 for bad usage or bad input,
    1 for a failure of the environment or a service.
    """

    exit_code = 1


class ConfigError(EngineError):
    """A setting (environment variable) has a value the engine cannot use."""

    exit_code = 2


class InputError(EngineError):
    """A file, path or argument given by the user is unusable."""

    exit_code = 2


class EnvironmentProblem(EngineError):
    """Something the engine needs on this machine is missing (Java, jars, a free port)."""


class ClusterError(EngineError):
    """A local HDFS daemon could not be started, stopped or reached."""


class StorageError(EngineError):
    """An HDFS operation failed."""


class NotFoundError(StorageError):
    """An HDFS path or a job does not exist."""

    exit_code = 2


class SparkJobError(EngineError):
    """A Spark job failed or Spark could not start."""


class JobError(EngineError):
    """A background engine job could not be started, found or cancelled."""


class TrainingError(EngineError):
    """Training failed; the last checkpoint is kept."""
