"""Energy: a distribution grid's flexibility budget allocated across nodes and hours, judged
by pandapower's AC power flow on the realized SimBench profiles (see docs/energy.md)."""
