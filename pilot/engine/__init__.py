"""The execution engine: a pure scheduling core (planner), an asyncio runner, node runners,
reliability policies, the run emitter/persistence, and the RunService behind the runs API."""
