"""SLA: business calendars, the clock of a stage, pauses, the scheduler that finds what is due, reports and the simulation."""
