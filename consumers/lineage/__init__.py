"""Event lineage: what each event caused, down to the handler effects.

An indexer (`consumers.lineage.indexer`, component `lineage` of `pipeline up`) records every
catalog event's ids and position into `pipeline_lineage`, and dead letters and retries into
`pipeline_lineage_effects` (`consumers.lineage.store`). `consumers.lineage.query.trace` builds
the causation tree of an event, aggregate or correlation id; `pipeline trace ID` prints it.
"""
