"""Pull from WMS: the use cases behind Settings -> Integrations -> "Pull from WMS".

Policy:

* Admin only (``Permission.MANAGE_INTEGRATIONS``). An endpoint of another
  tenant, or a removed one, does not exist (404).
* The pull secret is generated here, returned once, and kept only sealed by
  the ``SecretBox``; it is unsealed just before a call, sent only as the
  Bearer token, and never logged.
* A pulled body takes the webhook's own path (the ``BatchReceiver`` port)
  with channel ``pull`` and the attempt id as delivery id: the same checks,
  the same atomic and idempotent ``IngestOrders``, the same events. A body
  the webhook would refuse is recorded in the delivery log and stores no order.
* Every attempt, manual or scheduled, success or failure, is one
  ``SyncAttempted`` event on the endpoint. ``updatedSince`` is the start of
  the last successful attempt (orders changed during that pull are pulled
  again, never missed).
* Store calls block, so they run through the injected runner (a thread pool);
  only the fetch is awaited on the event loop, so a slow WMS holds one
  coroutine and nothing else.
* One sync per endpoint at a time, across processes, and a few per process
  (``concurrency.py``). The ingest of a pull carries the sync's start: a
  batch older than one already stored is refused whole (reason
  ``superseded``), never re-fetched.
* ``updatedSince`` belongs to the URL it was earned from: a URL change resets
  it, and a sync that started before the change never writes it.
* Whatever an attempt produces (the 502's details, ``lastError``, the
  ``SyncAttempted`` event, the log line) leaves the attempt through one
  ``Redactor`` holding the pull secret; refused batches are redacted by
  ``receive_batch`` before the delivery log keeps them. A pulled body that
  holds the secret is refused whole (reason ``secret_echoed``).
* The URL is judged when an endpoint is added or retargeted by the same
  rules as at sync time (the ``PullUrlCheck`` port).

The modules: ``admin.py`` (add, list, change, remove, new secret),
``plan.py`` (what one attempt needs, read under the endpoint's lease),
``sync.py`` (the attempt: fetch, ingest, record), ``failures.py`` (what each
way of failing amounts to), ``results.py`` (what the use cases answer),
``endpoint_store.py`` (loading and changing an endpoint), ``concurrency.py``,
``schedule.py`` and ``endpoints_projection.py`` (the scheduler's read model).
"""
