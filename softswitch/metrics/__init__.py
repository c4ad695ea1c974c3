"""Prometheus metrics of one switch process (served at ``/metrics``, see api/metrics.py).

`registry.Metrics` owns one `CollectorRegistry` per Runtime (no process globals: two
switches in one test process count apart). What changes at events (a call answered or
hung up) is counted by `calls.CallMetrics` as it happens; what is a state (live calls,
registrations, trunks, the dialer's queues, RTP counters of live legs) is read by
`collector.SwitchCollector` at scrape time, so the media tick and the RTP read path
do no extra work for metrics.
"""
