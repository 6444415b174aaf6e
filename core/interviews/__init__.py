"""The core's interviews domain: people, question sets, interviews, mail, consent,
recordings and evaluations (spec 4.1.1 (1)-(3), 4.2.1 (2), 4.2.2)."""
