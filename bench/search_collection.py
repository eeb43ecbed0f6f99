"""A judged German test collection for the archive search (issue 13), written for it.

Seven meetings' minutes of an eight-member alliance and the list traffic around them, in
the styles real minute-takers use: a table (TOP | Thema | Ergebnis), Sachstand /
Diskussion / Beschluss blocks, terse bullet lists full of abbreviations, plain prose,
minutes that exist only as a DOCX attachment, replies that never name the host, and posts
in English from a partner city. Topics are deliberately not the README's examples.

``DOCS``: key -> dict(subject, body, sender (a member's name or an outside address),
date, reply_to (key of the parent), attachment (text of a DOCX, paragraphs split on
blank lines; the first line is its heading)).

``QUERIES``: (category, query, relevant keys). A document is relevant when a person who
typed the query wants to read it, judged from the text alone, before any engine ran.
Categories: inflection, umlaut, compound, split compound, phrase, host and topic,
attachment only, abbreviation. ``EXACT``: compound queries whose documents containing the
exact word must come before every other hit (precision).
"""

from __future__ import annotations

MEMBERS = ("Dormagen", "Grevenbroich", "Jüchen", "Kaarst", "Korschenbroich", "Meerbusch", "Neuss", "Rommerskirchen")
ROTATION_START = "2025-Q1"  # Dormagen 2025-Q1, Grevenbroich Q2, Jüchen Q3, Kaarst Q4, Korschenbroich 2026-Q1, ...
CONTACTS = {name: f"kontakt@{name.lower().replace('ü', 'ue')}.example" for name in MEMBERS}
PARTNER = "j.devries@venlo.example"

DOCS: dict[str, dict] = {
    # --- 2025-Q1, hosted by Dormagen: a table ------------------------------------------------
    "m1": dict(
        subject="[Protokoll] Sitzung 2025-Q1", sender="Dormagen", date="2025-03-14",
        body="""Protokoll der Sitzung vom 12.03.2025, Ort: Rathaus, Sitzungssaal 2

| TOP | Thema | Ergebnis |
|-----|-------|----------|
| 1 | Begrüßung, Genehmigung des letzten Protokolls | genehmigt |
| 2 | Schulhofbegrünung: Stand der Pilotprojekte | zwei Schulhöfe werden 2025 entsiegelt, Pflanzung im Herbst |
| 3 | PV auf Schuldächern | Statik für 4 Dächer geprüft, Ausschreibung Mai |
| 4 | Stadtradeln 2025 | Aktionszeitraum 1.-21. Juni, gemeinsame Pressemitteilung |
| 5 | Verschiedenes | nächste Sitzung im Juni |

Anlage: Liste der Pilotschulen""",
    ),
    "r1a": dict(
        subject="Re: [Protokoll] Sitzung 2025-Q1", sender="Neuss", date="2025-03-17", reply_to="m1",
        body="""Danke für das Protokoll. Zu TOP 2: Wie habt ihr die Eltern bei der Entsiegelung eingebunden?
Bei uns gab es Sorgen wegen der Spielflächen. Wir würden die Begrünung der Schulhöfe gern
im Herbst auch angehen.""",
    ),
    "r1b": dict(
        subject="Re: [Protokoll] Sitzung 2025-Q1", sender="Dormagen", date="2025-03-18", reply_to="r1a",
        body="""Die Elternvertretungen saßen von Anfang an mit am Tisch, dazu ein Workshop mit den Kindern.
Die Spielflächen bleiben, nur der Asphalt am Rand kommt weg. Das Grünflächenamt pflanzt
im Oktober Hecken und zwei Bäume pro Hof.""",
    ),
    # --- 2025-Q2, hosted by Grevenbroich: Sachstand / Diskussion / Beschluss ------------------
    "m2": dict(
        subject="[Protokoll] Sitzung 2025-Q2", sender="Grevenbroich", date="2025-06-13",
        body="""Niederschrift über die Sitzung des Arbeitskreises am 11. Juni 2025

TOP 1 Nahwärmenetz Neubaugebiet Süd
Sachstand: Die Stadtwerke haben die Machbarkeitsstudie vorgelegt. Für 240 Wohneinheiten
ist ein Netz mit Abwärme aus dem Gewerbegebiet möglich.
Diskussion: Offen ist, ob die Versorgung mit Nahwärme für Bestandsgebäude geöffnet wird.
Beschluss: Die Studie wird allen Mitgliedern zur Verfügung gestellt.

TOP 2 Baumschutzsatzung
Sachstand: Grevenbroich überarbeitet seine Satzung; Fällungen ab 80 cm Stammumfang sollen
genehmigungspflichtig werden.
Diskussion: Kaarst und Jüchen haben keine Satzung und regeln den Schutz über Bebauungspläne.
Beschluss: Mustersatzung wird bis zur nächsten Sitzung erarbeitet.

TOP 3 Stelle Klimaschutzmanagement
Sachstand: Die Stelle der Klimaschutzmanagerin in Grevenbroich ist seit April besetzt.
Beschluss: Vorstellung in der nächsten Sitzung.""",
    ),
    "r2a": dict(
        subject="Re: [Protokoll] Sitzung 2025-Q2", sender="Meerbusch", date="2025-06-16", reply_to="m2",
        body="""Die Machbarkeitsstudie zum Netz interessiert uns sehr. Wie hoch ist der Anteil der Abwärme
am Jahresbedarf? Wir prüfen Ähnliches für ein Schulzentrum.""",
    ),
    "r2b": dict(
        subject="Re: [Protokoll] Sitzung 2025-Q2", sender="Grevenbroich", date="2025-06-17", reply_to="r2a",
        body="""Laut Studie deckt die Abwärme rund 60 Prozent, der Rest kommt aus einer Großwärmepumpe.
Die Studie schicke ich morgen als PDF herum.""",
    ),
    # --- 2025-Q3, hosted by Jüchen: only a DOCX with terse bullets ------------------------------
    "m3": dict(
        subject="[Protokoll] Sitzung 2025-Q3", sender="Jüchen", date="2025-09-12",
        body="Guten Tag, anbei das Protokoll der Sitzung vom 10.09. Viele Grüße",
        attachment="""Ergebnisprotokoll AK Klima 10.09.2025

- TOP 1: THG-Bilanz 2023 liegt vor, Verkehrssektor stagniert, Bericht an Ausschuss i.Okt.
- TOP 2: Streuobstwiesen: Pflegekonzept mit NABU, Obstbaumpatenschaften ab Frühjahr
- TOP 3: Hitzeschutz: Trinkwasserbrunnen an 3 Standorten, Hitzetelefon f. Senioren geplant
- TOP 4: ÖPNV-Anbindung Gewerbegebiet: Rufbus-Test verlängert bis 12/2025
- TOP 5: Termine: nächste Sitzung Dez. in Kaarst""",
    ),
    "r3a": dict(
        subject="Re: [Protokoll] Sitzung 2025-Q3", sender="Rommerskirchen", date="2025-09-15", reply_to="m3",
        body="""Zu den Obstbaumpatenschaften: Gibt es dafür einen Vertrag, den wir übernehmen könnten?
Wir haben drei Wiesen mit altem Bestand, die niemand mehr schneidet.""",
    ),
    # --- 2025-Q4, hosted by Kaarst: plain prose ------------------------------------------------
    "m4": dict(
        subject="[Protokoll] Sitzung 2025-Q4", sender="Kaarst", date="2025-12-05",
        body="""Protokoll der Sitzung am 3. Dezember 2025

Zu Beginn stellte Frau Berger den Entwurf des Hitzeaktionsplans vor. Er sieht kühle Orte in
Bibliotheken und Kirchen vor, eine Warnkette über die Kitas und Trinkwasser in den
Fußgängerzonen. Die Runde regte an, die Pflegedienste früh einzubinden.

Danach ging es um die Mustersatzung zum Baumschutz. Der Entwurf aus Grevenbroich wurde
gelobt; Kaarst will eine eigene Baumschutzsatzung im Frühjahr in den Rat bringen. Strittig
blieb, ob Obstbäume in Privatgärten ausgenommen werden.

Zum Schluss berichtete der Kreis über Car-Sharing an Bahnhöfen: an fünf Haltepunkten
stehen ab März Elektroautos, die auch die Verwaltungen tagsüber nutzen können.""",
    ),
    "r4a": dict(
        subject="Re: [Protokoll] Sitzung 2025-Q4", sender="Korschenbroich", date="2025-12-08", reply_to="m4",
        body="""Zur Satzung: Wir würden uns gern anschließen. Habt ihr schon eine Abschätzung, wie viele
Anträge auf Fällung pro Jahr zu erwarten sind und wer sie bearbeitet?""",
    ),
    "r4b": dict(
        subject="Re: [Protokoll] Sitzung 2025-Q4", sender="Kaarst", date="2025-12-09", reply_to="r4a",
        body="""Wir rechnen mit etwa 150 Anträgen im Jahr. Bearbeitet werden sie im Grünflächenamt,
eine halbe Stelle ist im Haushalt angemeldet. Ausgenommen bleiben Obstbäume.""",
    ),
    # --- 2026-Q1, hosted by Korschenbroich: a table ---------------------------------------------
    "m5": dict(
        subject="[Protokoll] Sitzung 2026-Q1", sender="Korschenbroich", date="2026-03-13",
        body="""Sitzung 11.03.2026 – Protokoll

TOP | Gegenstand | Verantwortlich | Frist
1 | Straßenbeleuchtung: Umrüstung auf LED, 2.300 Leuchten, Einsparung rd. 60 % | Tiefbauamt | 2027
2 | Gründung einer Energiegenossenschaft (Bürgerenergie Korschenbroich eG) | Wirtschaftsförderung | Q3 2026
3 | Fahrradabstellanlagen an Schulen und Bahnhof, Förderantrag gestellt | Mobilitätsmanagement | 06/2026
4 | Kostenlose Energieberatung für Hauseigentümer, Termine über Verbraucherzentrale | Klimaschutz | laufend""",
    ),
    "r5a": dict(
        subject="Re: [Protokoll] Sitzung 2026-Q1", sender="Jüchen", date="2026-03-16", reply_to="m5",
        body="""Zu Punkt 1: Welche Leuchten habt ihr genommen? Unsere Laternen sind teils 40 Jahre alt
und wir überlegen, ob wir gleich auf smarte Steuerung mit Dimmung gehen.""",
    ),
    "r5b": dict(
        subject="Re: [Protokoll] Sitzung 2026-Q1", sender="Korschenbroich", date="2026-03-17", reply_to="r5a",
        body="""Wir haben Leuchten mit Nachtabsenkung gewählt, ohne Funksteuerung. Die alten Masten
bleiben stehen, nur die Köpfe werden getauscht. Die Ausschreibungsunterlagen schicke ich gern.""",
    ),
    # --- 2026-Q2, hosted by Meerbusch: Sachstand blocks in a DOCX, short body -------------------
    "m6": dict(
        subject="[Protokoll] Sitzung 2026-Q2", sender="Meerbusch", date="2026-06-12",
        body="Anbei die Niederschrift der Sitzung vom 10. Juni. Bitte Korrekturen bis Monatsende.",
        attachment="""Niederschrift Arbeitskreis Klima, 10.06.2026

TOP 1 Schutz vor Hochwasser am Rhein
Sachstand: Die Deichsanierung bei Langst-Kierst ist zu zwei Dritteln fertig.
Diskussion: Für die Ortsteile am Rhein fehlt ein Konzept für mobile Schutzwände.
Beschluss: Die Verwaltung erarbeitet ein Konzept zum Schutz vor Hochwasser bis 2027.

TOP 2 Nutzung der Abwärme aus dem Rechenzentrum
Sachstand: Der Betreiber bietet Wärme für ein benachbartes Schwimmbad an.
Beschluss: Gespräch mit den Stadtwerken im Juli.

TOP 3 Repair-Café
Sachstand: Seit Januar monatlich in der Stadtbibliothek, 40 Besucher im Schnitt.""",
    ),
    "r6a": dict(
        subject="Re: [Protokoll] Sitzung 2026-Q2", sender="Neuss", date="2026-06-15", reply_to="m6",
        body="""Die mobilen Schutzwände haben wir 2021 beschafft. Gern zeigen wir euch das Lager und
die Übung der Feuerwehr; der Aufbau von 800 Metern dauert vier Stunden.""",
    ),
    # --- 2026-Q3, hosted by Neuss: bullets with abbreviations -----------------------------------
    "m7": dict(
        subject="[Protokoll] Sitzung 2026-Q3", sender="Neuss", date="2026-09-11",
        body="""Protokoll AK Klima, 09.09.2026, Neuss

* TOP 1 Förderaufruf progres.nrw Klimaschutztechnik: Einreichung bis 30.11., KSM koordiniert
* TOP 2 Agri-PV auf Kreisflächen: Pilot mit 2 Landwirten, Genehmigung über das Bauamt offen
* TOP 3 Leitung des Bauamts neu besetzt (Hr. Yilmaz), Ansprechpartner f. PV-Freiflächen
* TOP 4 E-Mobilität: 12 neue Ladepunkte in der Innenstadt, Stadtwerke betreiben
* TOP 5 Hitzeaktionsplan: Neuss übernimmt Gliederung aus Kaarst""",
    ),
    "r7a": dict(
        subject="Re: [Protokoll] Sitzung 2026-Q3", sender="Dormagen", date="2026-09-14", reply_to="m7",
        body="""Zum Förderaufruf: Wir reichen die Sanierung der Sporthallenlüftung ein. Hat jemand
Erfahrung, ob die Wärmerückgewinnung als Klimaschutztechnik zählt?""",
    ),
    # --- posts outside the minutes ---------------------------------------------------------------
    "p1": dict(
        subject="Gründächer auf Bushaltestellen", sender="Meerbusch", date="2025-04-02",
        body="""Hallo zusammen, wir wollen 2025 zwölf Wartehäuschen mit Gründächern ausstatten. Hat
jemand schon Erfahrungen mit der Pflege? Die Bepflanzung mit Sedum soll kaum Wasser brauchen.""",
    ),
    "p2": dict(
        subject="Re: Gründächer auf Bushaltestellen", sender="Dormagen", date="2025-04-03", reply_to="p1",
        body="""Wir haben seit 2022 sechs begrünte Dächer an Haltestellen. Pflege einmal im Jahr durch
den Bauhof, Kosten gering. Ein Gründach ist allerdings schwerer, die Statik muss passen.""",
    ),
    "p3": dict(
        subject="Photovoltaik-Pflicht für Parkplätze", sender="Rommerskirchen", date="2025-05-20",
        body="""Seit Januar gilt die Solarpflicht für neue Parkplätze ab 35 Stellplätzen. Wer hat schon
Photovoltaik-Überdachungen geplant? Wir suchen Erfahrungswerte zu Kosten pro kWp.""",
    ),
    "p4": dict(
        subject="Treibhausgasbilanz: welches Tool?", sender="Kaarst", date="2025-07-08",
        body="""Wir müssen die Treibhausgasbilanz für 2023 erstellen. Nutzt ihr den Klimaschutz-Planer oder
ein anderes Werkzeug? Die Daten der Energieversorger kommen bei uns immer spät.""",
    ),
    "p5": dict(
        subject="Faire Beschaffung in den Kantinen", sender="Neuss", date="2025-10-01",
        body="""Unsere Kantine im Rathaus wird seit Oktober regional und fair beliefert. Die Mehrkosten
liegen bei 30 Cent pro Essen. Wer macht bei der Beschaffung von Lebensmitteln Ähnliches?""",
    ),
    "p6": dict(
        subject="Ausschreibung Catering", sender="Jüchen", date="2025-10-20",
        body="""In der neuen Ausschreibung für das Catering der Kitas verlangen wir, dass Kaffee, Tee und
Bananen fair gehandelt sind; die Beschaffung läuft über den Kreis.""",
    ),
    "p7": dict(
        subject="Energieberatung im Quartier", sender="Grevenbroich", date="2026-01-22",
        body="""Ab Februar bieten wir in zwei Quartieren eine kostenlose Energieberatung an, direkt an der
Haustür. Die Verbraucherzentrale stellt die Beraterinnen.""",
    ),
    "p8": dict(
        subject="Erfahrungen mit Fällanträgen", sender="Jüchen", date="2026-02-05",
        body="""Bei uns häufen sich Anträge auf Fällung von Bäumen auf Privatgrund, obwohl wir keine
Satzung haben. Wie geht ihr damit um? Genehmigt das die Bauaufsicht?""",
    ),
    "p9": dict(
        subject="Öffentliche Gebäude: Sanierungsfahrplan", sender="Korschenbroich", date="2026-04-15",
        body="""Der Rat hat einen Sanierungsfahrplan beschlossen: alle öffentlichen Gebäude sollen bis 2035
saniert sein, Schulen zuerst. Die Liste mit Prioritäten hänge ich an.""",
    ),
    "p10": dict(
        subject="Stadtradeln Ergebnisse", sender="Rommerskirchen", date="2025-07-02",
        body="""Beim Stadtradeln haben 412 Menschen aus Rommerskirchen 81.000 km gesammelt. Platz 3 im Kreis!""",
    ),
    "p11": dict(
        subject="Elektromobilität im Fuhrpark", sender="Dormagen", date="2026-05-05",
        body="""Unser Fuhrpark ist jetzt zu 40 Prozent elektrisch. Die Elektromobilität spart uns rund
9.000 Euro Treibstoff im Jahr; die Ladepunkte am Rathaus reichen noch.""",
    ),
    "p12": dict(
        subject="Leitung Bauamt", sender="Grevenbroich", date="2026-08-20",
        body="""Zur Info: Die Bauamtsleitung wechselt zum 1. Oktober. Bis dahin bitte Fragen zu
Genehmigungen für Solaranlagen an mich.""",
    ),
    "p13": dict(
        subject="Hitzeschutz in Kitas", sender="Kaarst", date="2026-06-30",
        body="""Wir haben in allen Kitas Sonnensegel angebracht und Trinkpläne eingeführt. Eine
Hitzewarnung des DWD geht jetzt automatisch an die Leitungen.""",
    ),
    "p14": dict(
        subject="Genossenschaft für Bürgerwind", sender="Meerbusch", date="2026-07-14",
        body="""Eine Genossenschaft aus Meerbusch will zwei Windräder am Rand des Gewerbegebiets bauen.
Die Bürgerinnen und Bürger können Anteile ab 250 Euro zeichnen.""",
    ),
    "p15": dict(
        subject="Rufbus und Nahverkehr", sender="Rommerskirchen", date="2025-11-11",
        body="""Der öffentliche Nahverkehr in den Dörfern bleibt unser Sorgenkind. Ab Januar testen wir
einen Rufbus am Wochenende, buchbar per App und Telefon.""",
    ),
    "p16": dict(
        subject="Schulhöfe grüner gestalten", sender="Kaarst", date="2025-05-06",
        body="""Der Schulausschuss will die Schulhöfe grüner gestalten. Wir sammeln Beispiele für
Entsiegelung und Pflanzkonzepte.""",
    ),
    "p17": dict(
        subject="Fahrräder an Bahnhöfen", sender="Meerbusch", date="2026-02-11",
        body="""Am Bahnhof Osterath fehlen sichere Abstellanlagen für Fahrräder; eine Sammelgarage für
120 Räder ist in Planung.""",
    ),
    # --- distractors: related compounds, same words in another sense -------------------------
    "d1": dict(
        subject="Hitzewelle: Öffnungszeiten", sender="Grevenbroich", date="2025-07-15",
        body="""Wegen der Hitze öffnen die Freibäder eine Stunde früher. Das Rathaus bleibt normal geöffnet.""",
    ),
    "d2": dict(
        subject="Beleuchtung Weihnachtsmarkt", sender="Dormagen", date="2025-11-25",
        body="""Die Beleuchtung auf dem Weihnachtsmarkt wird dieses Jahr mit Ökostrom betrieben.""",
    ),
    "d3": dict(
        subject="Netzausbau Strom", sender="Neuss", date="2026-03-02",
        body="""Der Netzbetreiber kündigt Bauarbeiten am Stromnetz in der Nordstadt an; Umleitungen für
den Busverkehr sind eingerichtet.""",
    ),
    "d4": dict(
        subject="Amtsblatt und Bauleitplanung", sender="Rommerskirchen", date="2026-05-28",
        body="""Die Bauleitplanung für das Gewerbegebiet Nord ist im Amtsblatt veröffentlicht.""",
    ),
    "d5": dict(
        subject="Neuer Newsletter Klimaschutz", sender="Kaarst", date="2026-01-10",
        body="""Unser Newsletter erscheint jetzt monatlich; Themen sind Baumpflanzaktionen und die Klimawoche.""",
    ),
    # --- English partner posts -----------------------------------------------------------------
    "e1": dict(
        subject="Heat network visit from Venlo", sender=PARTNER, date="2025-09-30",
        body="""Dear colleagues, thank you for the Nahwärme study. Our city is building a heat network
using waste heat from greenhouses. We would love to visit Grevenbroich in October.""",
    ),
    "e2": dict(
        subject="Repair-Café exchange", sender=PARTNER, date="2026-06-25",
        body="""Hello all, our Repair-Café has run since 2019. Happy to share volunteer schedules and the
insurance model with Meerbusch.""",
    ),
    "e3": dict(
        subject="Agri-PV pilot results", sender=PARTNER, date="2026-10-02",
        body="""Our Agri-PV pilot over apple orchards produced 1.1 GWh in its first year; yields of the
fruit were unchanged. Slides attached to the next mail.""",
    ),
}

QUERIES: list[tuple[str, str, set[str]]] = [
    # inflection: other forms, derived words, verb forms
    ("inflection", "Hitzeaktionspläne", {"m4", "m7"}),
    ("inflection", "Gründächern", {"p1", "p2"}),
    ("inflection", "Energiegenossenschaften", {"m5"}),
    ("inflection", "Straßenbeleuchtung umgerüstet", {"m5", "r5a", "r5b"}),
    ("inflection", "entsiegeln", {"m1", "r1a", "p16"}),
    # umlaut spellings
    ("umlaut", "Abwaerme", {"m2", "r2a", "r2b", "m6"}),
    ("umlaut", "Gruendach", {"p1", "p2"}),
    ("umlaut", "Strassenbeleuchtung", {"m5", "r5a", "r5b"}),
    ("umlaut", "Foerderaufruf", {"m7", "r7a"}),
    # a word inside a longer compound of the text
    ("compound", "Abstellanlagen", {"m5", "p17"}),
    ("compound", "Satzung", {"m2", "m4", "r4a", "p8"}),
    ("compound", "Aktionsplan", {"m4", "m7"}),
    ("compound", "Genossenschaft", {"m5", "p14"}),
    ("compound", "Baumschutzsatzung", {"m2", "m4", "r4a"}),
    # a compound in the query, its parts apart in the text
    ("split compound", "Schulhofbegrünung", {"m1", "r1a", "r1b", "p16"}),
    ("split compound", "Abwärmenutzung", {"m2", "m6", "r2b"}),
    ("split compound", "Hochwasserschutzkonzept", {"m6"}),
    ("split compound", "Bauamtsleitung", {"m7", "p12"}),
    ("split compound", "Fahrradabstellanlagen", {"m5", "p17"}),
    ("split compound", "Nahwärmeversorgung", {"m2", "e1"}),
    ("split compound", "Baumfällungen", {"p8", "r4a", "m2"}),
    # phrases written apart, in another order, inflected
    ("phrase", '"faire Beschaffung"', {"p5", "p6"}),
    ("phrase", '"öffentliche Gebäude"', {"p9"}),
    ("phrase", '"grüne Schulhöfe"', {"p16", "m1", "r1a"}),
    ("phrase", '"kostenlose Energieberatung"', {"m5", "p7"}),
    ("phrase", '"mobile Schutzwände"', {"m6", "r6a"}),
    # a member's name and a topic: the meeting that member hosted, and its thread
    ("host and topic", "Kaarst Baumschutz", {"m4", "r4a", "r4b"}),
    ("host and topic", "Grevenbroich Nahwärme", {"m2", "r2a", "r2b"}),
    ("host and topic", "Meerbusch Hochwasser", {"m6", "r6a"}),
    ("host and topic", "Korschenbroich Straßenbeleuchtung", {"m5", "r5a", "r5b"}),
    ("host and topic", "Dormagen Schulhöfe", {"m1", "r1a", "r1b"}),
    # words only in an attachment
    ("attachment only", "Obstbaumpatenschaften", {"m3", "r3a"}),
    ("attachment only", "Trinkwasserbrunnen", {"m3"}),
    ("attachment only", "Deichsanierung", {"m6"}),
    ("attachment only", "Rechenzentrum Abwärme", {"m6"}),
    # abbreviations and their long forms
    ("abbreviation", "THG-Bilanz", {"m3", "p4"}),
    ("abbreviation", "PV", {"m1", "m7", "p3", "e3"}),
    ("abbreviation", "ÖPNV", {"m3", "p15"}),
    ("abbreviation", "E-Mobilität", {"m7", "p11"}),
    ("abbreviation", "KSM", {"m7", "m2"}),
    ("abbreviation", "progres.nrw", {"m7", "r7a"}),
]

# Compound queries whose documents with the exact word must precede every other hit.
EXACT: dict[str, set[str]] = {
    "Baumschutzsatzung": {"m2", "m4"},
    "Schulhofbegrünung": {"m1"},
    "Bauamtsleitung": {"p12"},
    "Fahrradabstellanlagen": {"m5"},
    "Hitzeaktionspläne": {"m4", "m7"},
}
