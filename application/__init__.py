"""Use cases of order intake: the application service, commands, results,
ports, projections and read-model interfaces."""
