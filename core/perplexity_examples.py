"""Example texts for the perplexity calculator, written for this project: each one should surprise the model more."""

from __future__ import annotations

import random

FLUENT = (
    "The package left the warehouse early on Monday morning. By noon it had reached the regional hub, "
    "where it was scanned, sorted and loaded onto a truck heading north. The customer received a message "
    "saying that the parcel would arrive the next day, and it did."
)


def shuffled_words(text: str, seed: int = 1) -> str:
    """The same words in a random order (seeded): same vocabulary, no grammar."""
    words = text.split()
    random.Random(seed).shuffle(words)
    return " ".join(words)


SHUFFLED = shuffled_words(FLUENT)

RANDOM_CHARACTERS = (
    "qX7#vLp2 Zk!9mT wR&4 bN%e8Jc yH3@sG0 ^fD6uQa1 +oI5 lW*rE tY)8 xV(2nB kM=7jP "
    "gS;1hA cZ/9 uL~3dF qK|6 wO<0 pE>4iR vT?5 mN:8 bY'2aX zC\"7"
)

CODE_SNIPPET = (
    "def moving_average(values, window):\n"
    '    """Return the mean of each run of `window` consecutive values."""\n'
    "    if window <= 0:\n"
    '        raise ValueError("window must be positive")\n'
    "    total = sum(values[:window])\n"
    "    averages = [total / window]\n"
    "    for i in range(window, len(values)):\n"
    "        total += values[i] - values[i - window]\n"
    "        averages.append(total / window)\n"
    "    return averages\n"
)

NON_ENGLISH = (
    "Le colis a quitté l'entrepôt lundi matin et il est arrivé au centre régional avant midi, "
    "où il a été trié puis chargé dans un camion."
)

EXAMPLES: dict[str, str] = {
    "Fluent paragraph": FLUENT,
    "Same words, shuffled": SHUFFLED,
    "Random characters": RANDOM_CHARACTERS,
    "Code snippet": CODE_SNIPPET,
    "Non-English sentence (French)": NON_ENGLISH,
}
