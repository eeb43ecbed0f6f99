"""A small German minutes corpus with judged queries, for measuring compound handling.

Written for this project (no outside data): sentences as they occur in the minutes of a
municipal climate alliance. Each query lists the documents a person asking it wants,
judged by meaning: "Regen" wants Starkregen and Regenwasser, not Regierung; "Wasser" wants
Abwasser, not Wasserstoff; "Kreis" (the county) does not want Kreisverkehr; "Lage" does
not want Photovoltaikanlage and "Stand" not Bestandsanalyse (traps for substring matching).
"""

DOCS = {
    1: "Der Kreis stellt das Wärmeplanungsgesetz vor. Alle Kommunen müssen bis 2028 planen.",
    2: "Die kommunale Wärmeplanung in Jüchen beginnt im Frühjahr mit einer Bestandsanalyse.",
    3: "Neue Wärmepumpen im Rathaus Kaarst senken den Gasverbrauch deutlich.",
    4: "Die Starkregengefahrenkarte für Grevenbroich ist online, Hinweise an die Bürger folgen.",
    5: "Nach dem Starkregen im Juli liefen mehrere Keller voll; das Regenrückhaltebecken war zu klein.",
    6: "Regenwasser soll auf Dächern gesammelt und für die Grünflächen genutzt werden.",
    7: "Die Landesregierung kündigt eine neue Förderrichtlinie an.",
    8: "Das Bundesförderprogramm für effiziente Gebäude wurde verlängert.",
    9: "Förderprogramme des Landes: Übersicht der Fristen und Ansprechpartner.",
    10: "Das Radverkehrskonzept Korschenbroich sieht neue Fahrradstraßen vor.",
    11: "Der Kreisverkehr an der Bundesstraße wird umgebaut; der Radweg bleibt offen.",
    12: "Die Geschwindigkeit in Wohngebieten soll auf Tempo 30 sinken.",
    13: "Windenergieanlagen im Rhein-Kreis Neuss: Flächen für neue Windräder werden geprüft.",
    14: "Die Photovoltaikanlage auf der Schule Meerbusch liefert seit Mai Strom.",
    15: "Der Stadtrat Neuss hat das Klimaschutzkonzept beschlossen.",
    16: "Die Beratung der Bürger zum Energiesparen übernimmt die Verbraucherzentrale.",
    17: "Wasserstoff als Energieträger für den Busverkehr wird in Dormagen untersucht.",
    18: "Das Abwasser der Kläranlage soll zur Wärmegewinnung genutzt werden.",
    19: "Stadtbäume leiden unter Hitze; ein Baumkataster für Rommerskirchen ist in Arbeit.",
    20: "Der Hitzeaktionsplan des Kreises schützt ältere Menschen in heißen Sommern.",
    21: "Die Lage am Strommarkt bleibt angespannt, die Preise steigen.",
    22: "Ein Nahwärmenetz für das Neubaugebiet in Jüchen ist geplant.",
    23: "Die Energieagentur NRW berät zu Quartierskonzepten und Sanierungsfahrplänen.",
    24: "Die Gesamtkosten der Sanierung liegen bei zwei Millionen Euro.",
    25: "Das Amt für Umwelt koordiniert die Klimaanpassung im Kreis.",
    26: "Die Ladeinfrastruktur für Elektroautos wird an allen Rathäusern ausgebaut.",
    27: "Carsharing und Mobilstationen ergänzen den öffentlichen Nahverkehr.",
    28: "Der Klimaanpassungsmanager stellt das Anpassungskonzept vor.",
    29: "Der Baum vor der Schule wurde gefällt, zwei neue Bäume werden gepflanzt.",
    30: "Das Gebäudeenergiegesetz verlangt beim Heizungstausch 65 Prozent erneuerbare Energie.",
    31: "Die Heizung im Rathaus Grevenbroich wurde auf Fernwärme umgestellt.",
    32: "Die Schulwege werden sicherer: Radfahrer bekommen eigene Ampeln.",
}

# query -> documents a person wants (compound queries: the word occurs inside compounds)
QUERIES = {
    "Wärmeplanung": {1, 2},
    "Wärme": {1, 2, 3, 18, 22, 31},
    "Starkregen": {4, 5},
    "Regen": {4, 5, 6},
    "Förderprogramm": {8, 9},
    "Förderung": {7, 8, 9},
    "Radverkehr": {10},
    "Fahrrad": {10},
    "Wind": {13},
    "Energie": {13, 16, 17, 23, 30},
    "Strom": {14, 21},
    "Wasser": {6, 18},
    "Kreis": {1, 13, 20, 25},
    "Baum": {19, 29},
    "Hitze": {19, 20},
    "Konzept": {10, 15, 23, 28},
    "Anpassung": {25, 28},
    "Gesetz": {1, 30},
    "Sanierung": {23, 24},
    "Heizung": {30, 31},
    "Verkehr": {10, 11, 17, 27},
    "Rat": {15},
    "Netz": {22},
    "Stadtbaum": {19},
    # inflection and spelling
    "Förderprogramme": {8, 9},
    "Waerme": {1, 2, 3, 18, 22, 31},
    "Juechen": {2, 22},
    "Stadtbäume": {19},
    # words that occur by accident inside other words (precision traps)
    "Lage": {21},
    "Stand": set(),
    "Kosten": {24},
    "Schule": {14, 29, 32},
    "Analyse": {2},
}
