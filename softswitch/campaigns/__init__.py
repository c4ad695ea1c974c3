"""Campaigns and the dialer: one model behind the CPaaS campaign manager and the JAICP
Calls API.

- `zones`: gmtZone parsing, zone inference from a number (phonenumbers)
- `windows`: call windows (start/finish, allowed days, per-weekday intervals, overnight,
  DST as java.time does it), `CallWindow.next_allowed`
- `model`: Campaign, Job, Attempt, ShortReport and their statuses
- `errors`: CampaignError and its ErrorKind (the APIs shape them into their error bodies)
- `phones`: adding numbers (policies, duplicates, idempotence keys)
- `manager`: CampaignManager, the operations both APIs and the dialer share
- `builder`: CampaignBuilder, a new campaign from a client's request (every check, in order)
- `csvimport`: contacts from an uploaded CSV file, all or nothing
- `dates`: campaign start/end dates in the campaign's zone, and their wall-clock read-back
- `dialer`: Dialer (scheduling, pacing, caps, retries, crash recovery), DialRequest
- `placer`: campaign flows and CallServicePlacer (the dialer's `place_call` through
  CallService.dial_flow), CdrRecovery
- `clock`: SystemClock and ManualClock (tests, simulated benchmarks)
"""
