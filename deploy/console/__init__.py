"""The operations console: a small Django site for the people who run the pipeline.

Overview (components, throughput, lag, outbox backlog, dead letters, stream recovery), topics
(catalog vs cluster, a decoded and masked message browser, export), consumer groups (members,
assignment, lag, offsets reset), dead letters (redrive) and lineage (what one event caused).
It shows whatever the project declares; nothing here names an example project.

Its own state (users, sessions, the audit log, metric samples) lives in a SQLite file under
PIPELINE_HOME (`deploy.console.home`); it only reads the project's database. `pipeline up` runs
it as the `console` component (`deploy.console.stack`), `deploy.console.server` is the process.
"""
