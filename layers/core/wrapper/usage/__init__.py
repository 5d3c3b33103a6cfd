"""Usage metering (#5): idempotent ingestion of usage events, exact per-period aggregates per meter,
usage reads and entitlement checks.

Items, all in the tenant's usage partition ``TENANT#<t>#USAGE`` (apart from the tenant's main
partition, so millions of events never crowd its members, roles and audit records):

| item | SK | written |
|---|---|---|
| raw event (dedupe, recompute; expires after 40 days) | `EVT#<event_id>` | put if absent |
| period aggregate, one of 8 shards | `AGG#<meter>#<period start>#<shard>` | ADD / conditional SET |
| daily aggregate (UTC day), one of 8 shards | `DAY#<meter>#<yyyy-mm-dd>#<shard>` | ADD / conditional SET |
| unique value seen in a period or a day | `UNIQ#<meter>#<period start or D<day>>#<sha256(value)>` | put if absent |
| threshold published (80%, 100%) | `THRESHOLD#<meter>#<period start>#<percent>` | put if absent, with its event |

How each aggregation stays exact under retries, duplicates and crashes:
- **count, sum**: the raw event's conditional put and the ``ADD`` to its shard (period and day)
  are one transaction. A duplicate fails the put, so the whole transaction, so nothing is added.
- **max, latest, unique_count** cannot ride in that transaction: their write is conditional and a
  failed condition (a smaller value, an older timestamp, a value already seen) would cancel the
  event itself. So the event transaction records them as ``pending`` on the raw event, and a
  follow-up write applies each one and then clears ``pending``. Each follow-up is idempotent on
  its own: ``max`` and ``latest`` are conditional SETs (``v < :x``; ``at < :ts#event_id``), which
  a repeat cannot change; ``unique_count`` puts the value's marker and ADDs 1 in one transaction,
  which a repeat finds the marker of and cancels. A crash between the event transaction and its
  follow-ups leaves ``pending`` set: the retry of the same event finds the event (answers
  ``duplicate``) and completes what is pending first.
- Shard = sha256(event_id) mod 8, so a hot tenant's writes spread over 8 items; a read is one
  Query of the 8 shards (sum for count/sum/unique_count, max for max, latest ``at`` for latest).

Periods are the tenant's subscription's billing periods (``current_period_start/end``, earlier
ones counted back from its anchor by whole intervals). An event counts in the period its
timestamp falls in, so a late event for an earlier, still-open period counts there. No period is
invoiced yet (#6): when one is, its late events will be kept and answered ``late``.
``recompute`` folds a period's raw events again and ``verify`` compares it with the aggregate.

Thresholds: after a batch's writes, each limited meter it touched is read once; every default
threshold (80%, 100%; per-plan thresholds need a catalog field, a follow-up) the value has reached
gets its marker and its ``usage.threshold_reached`` event in one transaction, the marker put only
if absent: one event per (tenant, meter, period, threshold) under retries and concurrent batches.
"""
