"""Non-scheduled care capacity: what the centres' agendas offer and how fresh it is."""
