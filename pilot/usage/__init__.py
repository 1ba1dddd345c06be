"""Usage and billing from what runs record: totals, breakdowns and history over ``executions`` and
node results (:mod:`pilot.usage.service`), monthly budgets (:mod:`pilot.usage.budget`), price
overrides per workspace (:mod:`pilot.usage.config`) and the costing of model calls
(:mod:`pilot.usage.metering`). HTTP API: :mod:`pilot.usage.controllers`."""
