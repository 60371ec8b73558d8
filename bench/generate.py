"""A deterministic generator of a Movilab-style wiki, as a MediaWiki XML export.

    python bench/generate.py --pages 10000 --out /tmp/wiki-10000.xml [--seed 8]

The same (pages, seed) always gives the same bytes. The wiki has what the bundled sample
(``tierslieux/sample/movilab-sample.xml``) has, at the size of the pages of the issue's corpus
(~14 KB of wikitext a page):

- new-format tiers-lieu records: ``{{Tiers-lieu |nom court= |thème= |adresse= |code postal=
  |ville= |site= |courriel= |téléphone= |réseaux= |contributeurs= |référent= |description=
  |fermeture=}}`` (the parameters of ``Modèle:Tiers-lieu``; now and then a value a cleaner
  corrects or rejects, an unknown theme, a closure) followed by a free body;
- old-format places spread over ``X``, ``X/2`` (and ``X/3``), with ``{{Navigation tiers-lieu}}``
  and the closure sentence of "Au Comptoir Numérique" on some;
- collectivity pages with the outline of the seed page "Développer des Tiers Lieux dans les
  collectivités": Enjeux, Facteurs, Opportunités, Objectifs, Moyens d'actions, Principaux
  freins, Principaux avantages, Fonctionnement des collectivités par type > Europe, État,
  Région…, Partenariats possibles > Prestations…, the "Public : / Privé : / Personnel :" lists,
  and on some a ``{{Collectivité}}`` record;
- documentation and network pages with banners (``{{Documentation explicative}}``,
  ``{{Ébauche}}``, ``{{Forum|…}}``, ``{{Soutenir Movilab}}``, ``{{Pied de page Movilab}}``);
- sections 2–3 levels deep, nested ``*``/``#``/``;:`` lists, ``'''bold'''``/``''italic''``,
  wiki links between the generated pages, external links, files, tables, footnotes,
  categories, a few redirects and talk pages.

Contributors come from a pool of a few hundred users, so people are shared between pages like
on the real wiki. ``changed_revision`` gives the "next harvest" of a page (bench/run.py uses it
for the incremental build).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

SITEINFO = """  <siteinfo>
    <sitename>Movilab</sitename>
    <dbname>movilab</dbname>
    <base>https://movilab.org/wiki/Accueil</base>
    <generator>MediaWiki 1.39.17</generator>
    <case>first-letter</case>
    <namespaces>
      <namespace key="-2" case="first-letter">Média</namespace>
      <namespace key="-1" case="first-letter">Spécial</namespace>
      <namespace key="0" case="first-letter" />
      <namespace key="1" case="first-letter">Discussion</namespace>
      <namespace key="2" case="first-letter">Utilisateur</namespace>
      <namespace key="4" case="first-letter">Movilab</namespace>
      <namespace key="6" case="first-letter">Fichier</namespace>
      <namespace key="10" case="first-letter">Modèle</namespace>
      <namespace key="14" case="first-letter">Catégorie</namespace>
    </namespaces>
  </siteinfo>
"""
HEADER = (
    '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.11/ '
    'http://www.mediawiki.org/xml/export-0.11.xsd" version="0.11" xml:lang="fr">\n'
)

# --------------------------------------------------------------------------- vocabulary

FIRST = """Camille Dominique Claude Alix Sacha Morgan Lou Noé Jules Léa Manon Hugo Inès Louis
Chloé Lucas Emma Gabriel Jade Arthur Louise Raphaël Alice Adam Lina Paul Rose Nathan Anna Tom
Zoé Victor Mila Ethan Léna Théo Julia Maël Ambre Sacha Agathe Simon Élise Yanis Margaux Robin
Ophélie Bastien Gaëlle Yann Solène Mathis Clémence Hélène Loïc Maëlle Romain""".split()
LAST = """Vidal Perrin Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau
Simon Laurent Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André
Lefèvre Mercier Dupont Lambert Bonnet François Martinez Legrand Garnier Faure Rousseau Blanc
Guérin Muller Henry Roussel Nicolas Perrot Morin Mathieu Clément Gauthier Dumont Lopez Fontaine
Chevalier Robin Masson Sanchez Gérard Nguyen Boyer Denis Lemaire Duval Joly Gautier Roger Deyrolle
Le Goff Kerbrat Quéré""".split()
TOWNS = [
    ("Colombelles", "14460"), ("Caen", "14000"), ("Villeurbanne", "69100"), ("Lyon", "69001"),
    ("Saint-Étienne", "42000"), ("Rennes", "35000"), ("Nantes", "44000"), ("Brest", "29200"),
    ("Quimper", "29000"), ("Lille", "59000"), ("Roubaix", "59100"), ("Amiens", "80000"),
    ("Rouen", "76000"), ("Le Havre", "76600"), ("Tours", "37000"), ("Poitiers", "86000"),
    ("Limoges", "87000"), ("Bordeaux", "33000"), ("Bayonne", "64100"), ("Pau", "64000"),
    ("Toulouse", "31000"), ("Albi", "81000"), ("Montpellier", "34000"), ("Nîmes", "30000"),
    ("Arles", "13200"), ("Marseille", "13001"), ("Aix-en-Provence", "13100"), ("Nice", "06000"),
    ("Grenoble", "38000"), ("Chambéry", "73000"), ("Annecy", "74000"), ("Dijon", "21000"),
    ("Besançon", "25000"), ("Strasbourg", "67000"), ("Mulhouse", "68100"), ("Metz", "57000"),
    ("Nancy", "54000"), ("Reims", "51100"), ("Troyes", "10000"), ("Orléans", "45000"),
    ("Bourges", "18000"), ("Clermont-Ferrand", "63000"), ("Aurillac", "15000"),
    ("Ajaccio", "20000"), ("Bastia", "20200"), ("Périgueux", "24000"), ("Agen", "47000"),
    ("Cahors", "46000"), ("Rodez", "12000"), ("Mende", "48000"), ("Valence", "26000"),
    ("Gap", "05000"), ("Digne-les-Bains", "04000"), ("Laval", "53000"), ("Angers", "49000"),
    ("Le Mans", "72000"), ("Saint-Brieuc", "22000"), ("Vannes", "56000"), ("Lorient", "56100"),
    ("Cherbourg-en-Cotentin", "50100"), ("Alençon", "61000"), ("Évreux", "27000"),
]
PLACE_WORDS = """Fabrique Atelier Ruche Comptoir Myne Hangar Cantine Forge Grange Usine Labo
Quai Maison Tiers-Lieu Coworking Friche Halle Gare Filature Moulin Serre Nef Bocal Cabane Escale
Passerelle Station Tricoteuse Boussole Cordée Ferme Épicerie Bercail Volière Manufacture""".split()
PLACE_ADJ = """Numérique Collective Partagée Solidaire Ouverte Commune Agile Libre Sociale
Rurale Urbaine Créative Coopérative Nomade Verte Citoyenne Paysanne""".split()
NETWORKS = [
    "France Tiers Lieux", "Tilios", "Coopérative Tiers-Lieux", "Réseau des tiers-lieux normands",
    "Bretagne Tiers-Lieux", "La Compagnie des Tiers-Lieux", "Relief", "Cap Tiers-Lieux",
    "Réseau Sud Tiers-Lieux", "Hauts-de-France Tiers-Lieux", "Tiers-Lieux Occitanie",
    "Réseau des fablabs", "RFFLabs", "Collectif des tiers-lieux ruraux", "Grand Est Tiers-Lieux",
    "Tiers-Lieux Centre-Val de Loire", "Réseau Nouvelle-Aquitaine", "Pays de la Loire Tiers-Lieux",
]
THEMES = ["Gouvernance", "Animation", "Economique", "Documentation", "Autre"]
UNKNOWN_THEMES = ["Agriculture urbaine", "Numérique", "Mobilité", "Culture", "Alimentation",
                  "Réemploi", "Éducation populaire"]
STREETS = ["Rue des Ateliers", "Place de la République", "Avenue Jean Jaurès", "Rue du Port",
           "Quai de la Loire", "Chemin des Vignes", "Boulevard Victor Hugo", "Rue de la Gare",
           "Impasse des Tisserands", "Allée des Tilleuls", "Route de la Forêt"]
NOUNS = """tiers-lieu communauté collectivité territoire commun coworking atelier fablab
association coopérative projet usager habitant élu budget subvention convention gouvernance
documentation ressource réseau médiation formation emploi économie transition énergie mobilité
agriculture alimentation culture quartier commune région métropole département partenariat
expérimentation animation concierge bénévole contributeur wiki licence donnée service usage
compétence outil machine imprimante espace bâtiment friche local loyer modèle charte""".split()
VERBS = """développe accompagne anime documente partage favorise construit mutualise ouvre
expérimente finance soutient rassemble organise propose relie héberge forme outille transforme
valorise questionne répare invente""".split()
ADJS = """ouvert libre local collectif numérique solidaire durable hybride rural urbain
coopératif partagé citoyen public privé social culturel économique territorial nouveau""".split()
CONNECT = ["Par ailleurs", "En outre", "Depuis 2015", "Depuis sa création", "Aujourd'hui",
           "Concrètement", "À terme", "Pour la collectivité", "Avec les habitants",
           "Dans le cadre de la recherche-action", "Selon les contributeurs", "En pratique"]
PLACE_SECTIONS = ["Le Lieu", "La gouvernance", "Les activités", "Les communs", "Le modèle économique",
                  "Historique", "Les usagers", "Les partenaires", "Les ressources", "Contact"]
PLACE_SUBSECTIONS = ["Les espaces", "L'équipe", "Les ateliers", "Les MYNEmix", "Le budget",
                     "Les outils", "Les événements", "La charte", "Les adhésions"]
STATEMENT_HEADINGS = ["Enjeux", "Facteurs", "Opportunités", "Objectifs", "Moyens d'actions",
                      "Principaux freins", "Principaux avantages"]
LEVEL_HEADINGS = ["Europe", "État", "Région", "Parc", "Département", "Agglomération & EPCI",
                  "Ville", "Quartier"]
PARTNER_HEADINGS = ["Prestations", "Subventions", "Mission d'intérêt général",
                    "Délégation de services publics", "Modèles économiques"]
COLLECTIVITY_KINDS = [("Région", "Région"), ("Département", "Département"), ("Ville", "Commune"),
                      ("Métropole", "Métropole"), ("Communauté de communes", "Communauté de communes"),
                      ("Agglomération", "Agglomération & EPCI"), ("Parc naturel régional", "Parc")]
DOC_TITLES = ["Construire et équilibrer son budget", "Préfiguration", "Le manifeste",
              "Convention immobilière et de partenariat", "Documenter un tiers-lieu",
              "Animer une communauté", "Ouvrir un fablab", "Financer un tiers-lieu",
              "Gouvernance partagée", "Les communs numériques", "Accueillir du public",
              "Mesurer l'impact social", "Créer une conciergerie", "Le télétravail en milieu rural"]
FILES = ["Medicament.jpg", "Empreinte France Monde.jpg", "Chomage.jpg", "Logo Cloud.png",
         "Twitter.png", "Mastodon Logotype (Simple).svg", "ManifesteTilios.png", "Forum.png"]


@dataclass(frozen=True)
class GenPage:
    """One generated page (its latest revision)."""

    page_id: int
    ns: int
    title: str
    rev_id: int
    parent_id: int | None
    timestamp: str
    contributor: str
    comment: str
    text: str
    redirect: str | None = None


def base36_sha1(text: str) -> str:
    """The sha1 of a revision text as MediaWiki writes it in exports (base 36, 31 digits)."""
    value = int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    while value:
        value, rest = divmod(value, 36)
        out.append(digits[rest])
    return "".join(reversed(out)).rjust(31, "0")


# --------------------------------------------------------------------------- text


class _Writer:
    """Random French-looking wikitext, deterministic for a given Random."""

    def __init__(self, rnd: random.Random, titles: list[str]) -> None:
        self.r = rnd
        self.titles = titles

    def link(self) -> str:
        title = self.r.choice(self.titles)
        if self.r.random() < 0.4:
            return f"[[{title}|{title.lower()}]]"
        if self.r.random() < 0.1:
            return f"[[{title}#{self.r.choice(PLACE_SECTIONS)}|{self.r.choice(NOUNS)}]]"
        return f"[[{title}]]"

    def phrase(self, words: int) -> str:
        r = self.r
        out = []
        for i in range(words):
            roll = r.random()
            if roll < 0.012:
                out.append(self.link())
            elif roll < 0.06:
                out.append(f"'''{r.choice(NOUNS)}'''")
            elif roll < 0.10:
                out.append(f"''{r.choice(ADJS)} {r.choice(NOUNS)}''")
            elif roll < 0.102:
                out.append(f"[https://www.{r.choice(NOUNS).replace('-', '')}.fr/{r.randint(1, 999)} "
                           f"{r.choice(NOUNS)}]")
            elif roll < 0.1035:
                out.append(f"<ref>{r.choice(CONNECT)}, {r.choice(NOUNS)} {r.randint(2010, 2024)}</ref>")
            elif i % 3 == 0:
                out.append(r.choice(NOUNS))
            elif i % 3 == 1:
                out.append(r.choice(VERBS))
            else:
                out.append(r.choice(ADJS))
        return " ".join(out)

    def sentence(self) -> str:
        r = self.r
        body = self.phrase(r.randint(8, 22))
        return f"{r.choice(CONNECT)}, le {body}."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.r.randint(2, 5)))

    def items(self, depth: int = 1, prefix: str | None = None, marker: str = "*",
              count: tuple[int, int] = (2, 6), words: tuple[int, int] = (5, 16)) -> list[str]:
        r = self.r
        lines = []
        for _ in range(r.randint(*count)):
            text = self.phrase(r.randint(*words))
            if prefix:
                text = f"{prefix} : {text}"
            lines.append(f"{marker * depth} {text[0].upper()}{text[1:]}")
            if depth < 3 and r.random() < 0.15:
                lines.extend(self.items(depth + 1, marker=r.choice("*#"), count=count,
                                        words=words))
        return lines

    def definition_list(self) -> list[str]:
        return [f"; {self.r.choice(NOUNS).capitalize()} : {self.phrase(8)}"
                for _ in range(self.r.randint(2, 4))]

    def table(self) -> str:
        r = self.r
        head = " !! ".join(f"{r.choice(NOUNS).capitalize()} :" for _ in range(3))
        cells = "\n".join(
            "|\n" + "\n".join(f"* {self.phrase(6)}" for _ in range(r.randint(2, 3)))
            for _ in range(3)
        )
        return f'{{| class="wikitable"\n! {head}\n|-\n{cells}\n|}}'

    def block(self) -> str:
        r = self.r
        roll = r.random()
        if roll < 0.62:
            return self.paragraph()
        if roll < 0.72:
            return "\n".join(self.items(count=(2, 5)))
        if roll < 0.86:
            return "\n".join(self.definition_list())
        if roll < 0.9:
            return self.table()
        if roll < 0.95:
            return f"[[Fichier:{r.choice(FILES)}|400px|centré]]\n\n{self.paragraph()}"
        return f"'''{self.phrase(6)}'''<br />\n{self.paragraph()}"

    def section(self, heading: str, level: int = 2, blocks: int | None = None) -> str:
        marks = "=" * level
        count = blocks if blocks is not None else self.r.randint(1, 4)
        body = "\n\n".join(self.block() for _ in range(count))
        return f"{marks} {heading} {marks}\n{body}\n"

    def fill(self, parts: list[str], size: int, headings: list[str]) -> None:
        """Add free sections (with subsections) until the page reaches ``size`` characters."""
        while sum(len(p) for p in parts) < size:
            heading = self.r.choice(headings)
            parts.append(self.section(heading))
            if self.r.random() < 0.5:
                parts.append(self.section(self.r.choice(PLACE_SUBSECTIONS), level=3))


# --------------------------------------------------------------------------- the wiki


class Wiki:
    """The plan of a generated wiki: titles first (so pages can link to one another), then
    page texts on demand, in a fixed order."""

    def __init__(self, pages: int, seed: int = 8) -> None:
        self.n = pages
        self.seed = seed
        rnd = random.Random(seed)
        self.users = sorted({f"{rnd.choice(FIRST)} {rnd.choice(LAST)}" for _ in range(400)})
        #: (kind, title, extra) in page order; sub-pages follow their root page
        self.plan: list[tuple[str, str, dict]] = []
        taken: set[str] = set()

        def unique(title: str) -> str:
            candidate, n = title, 1
            while candidate in taken:
                n += 1
                candidate = f"{title} ({n})"
            taken.add(candidate)
            return candidate

        while len(self.plan) < pages:
            roll = rnd.random()
            town, postcode = rnd.choice(TOWNS)
            if roll < 0.45:
                name = f"{rnd.choice(['La', 'Le', 'Les'])} {rnd.choice(PLACE_WORDS)} {rnd.choice(PLACE_ADJ)}"
                self.plan.append(("place", unique(f"{name} ({town})" if rnd.random() < 0.5 else name),
                                  {"town": town, "postcode": postcode}))
            elif roll < 0.52:
                root = unique(f"{rnd.choice(PLACE_WORDS)} de {town}")
                closed = rnd.random() < 0.3
                self.plan.append(("oldplace", root, {"town": town, "part": 1, "closed": closed}))
                for part in range(2, rnd.choice([2, 2, 3]) + 1):
                    if len(self.plan) < pages:
                        self.plan.append(("oldplace", f"{root}/{part}",
                                          {"town": town, "part": part, "closed": closed}))
            elif roll < 0.78:
                kind, level = rnd.choice(COLLECTIVITY_KINDS)
                title = unique(f"Développer des Tiers Lieux : {kind} de {town}")
                self.plan.append(("collectivity", title,
                                  {"town": town, "kind": kind, "level": level}))
            elif roll < 0.93:
                self.plan.append(("doc", unique(f"{rnd.choice(DOC_TITLES)} - {town}"), {}))
            elif roll < 0.97:
                self.plan.append(("network", unique(f"Réseau {rnd.choice(NETWORKS)} - {town}"), {}))
            elif roll < 0.985:
                self.plan.append(("redirect", unique(f"Redirection {rnd.randint(1, 10**6)}"), {}))
            else:
                self.plan.append(("talk", unique(f"Discussion:{rnd.choice(DOC_TITLES)} {town}"), {}))
        self.titles = [t for k, t, _ in self.plan if k not in ("redirect", "talk")]

    def pages(self) -> Iterator[GenPage]:
        for index in range(self.n):
            yield self.page(index)

    def page(self, index: int) -> GenPage:
        kind, title, extra = self.plan[index]
        rnd = random.Random(f"{self.seed}/{index}")
        w = _Writer(rnd, self.titles)
        size = rnd.randint(9_000, 15_000)
        text = getattr(self, f"_{kind}")(rnd, w, title, extra, size)
        day = 1 + index % 28
        month = 1 + (index // 28) % 12
        ns = 1 if kind == "talk" else 0
        redirect = None
        if kind == "redirect":
            redirect = rnd.choice(self.titles)
            text = f"#REDIRECTION [[{redirect}]]"
        return GenPage(
            page_id=10_000 + index,
            ns=ns,
            title=title,
            rev_id=100_000 + index * 3,
            parent_id=100_000 + index * 3 - 1 if index % 4 else None,
            timestamp=f"{2016 + index % 8}-{month:02d}-{day:02d}T{index % 24:02d}:{index % 60:02d}:00Z",
            contributor=rnd.choice(self.users),
            comment=rnd.choice(["Mise à jour", "Relecture", "Ajout de contenus", "Fiche tiers-lieu"]),
            text=text,
            redirect=redirect,
        )

    # ------------------------------------------------------------------ page kinds
    def _place(self, r: random.Random, w: _Writer, title: str, extra: dict, size: int) -> str:
        postcode = extra["postcode"]
        if r.random() < 0.05:
            postcode = postcode[:2] + " " + postcode[2:]  # a cleaner corrects it
        themes = r.sample(THEMES, r.randint(1, 4))
        if r.random() < 0.15:
            themes.append(r.choice(UNKNOWN_THEMES))  # minted concept
        site = f"https://www.{title.split(' (')[0].lower().replace(' ', '-')}.fr/"
        if r.random() < 0.1:
            site = site.replace("https://", "")  # corrected: https:// added
        people = r.sample(self.users, r.randint(1, 3))
        params = [
            ("nom court", title.split(" (")[0]),
            ("thème", ", ".join(themes)),
            ("adresse", f"{r.randint(1, 120)} {r.choice(STREETS)}"),
            ("code postal", postcode),
            ("ville", extra["town"]),
            ("site", site),
            ("courriel", "bonjour@" + site.split("//")[-1].strip("/").replace("www.", "")
             if r.random() > 0.05 else "bonjour at tiers-lieu"),
            ("téléphone", f"0{r.randint(1, 9)} {r.randint(10, 99)} {r.randint(10, 99)} "
                          f"{r.randint(10, 99)} {r.randint(10, 99)}"),
            ("réseaux", ", ".join(r.sample(NETWORKS, r.randint(1, 3)))),
            ("contributeurs", ", ".join(people)),
            ("référent", people[0].lower() if r.random() < 0.3 else people[0]),
            ("description", w.phrase(r.randint(20, 45))),
        ]
        if r.random() < 0.1:
            params.append(("fermeture", f"Espace physique fermé depuis "
                                        f"{r.choice(['juillet', 'mars', 'octobre'])} {r.randint(2016, 2024)}"))
        call = "{{Tiers-lieu\n" + "".join(f"|{k}={v}\n" for k, v in params) + "}}"
        parts = [call, f"''page actualisée par l'équipe le {r.randint(1, 28)} mars {r.randint(2018, 2024)}.''",
                 w.paragraph()]
        w.fill(parts, size, PLACE_SECTIONS)
        parts.append("[[Catégorie:Tiers-lieux]]")
        return "\n\n".join(parts)

    def _oldplace(self, r: random.Random, w: _Writer, title: str, extra: dict, size: int) -> str:
        root = title.split("/")[0]
        nav = f"{{{{Navigation tiers-lieu|{root}|Le Tiers-Lieux|Les activités|L'évolution}}}}"
        icons = " — ".join(f"[[Fichier:{f}|30px|link=]] {f.split('.')[0]}" for f in r.sample(FILES, 3))
        parts = [icons, nav]
        if extra["part"] == 1:
            parts.append(f"'''' {root} n'est pas un lieu, mais un Tiers Lieux'''")
            if extra["closed"]:
                parts.append(f"''Espace physique fermé depuis {r.randint(2012, 2020)}, mais la "
                             f"communauté se retrouve toujours via {w.link()}.''")
            parts.append(w.paragraph())
        w.fill(parts, size, PLACE_SECTIONS + ["Agir en commun(s)", "L’association",
                                              "Explication du concept"])
        parts.append("[[Catégorie:Tiers-lieux]]")
        if extra["closed"] and extra["part"] == 1:
            parts.append("[[Catégorie:Tiers-lieux fermés]]")
        return "\n\n".join(parts)

    def _collectivity(self, r: random.Random, w: _Writer, title: str, extra: dict, size: int) -> str:
        parts = []
        if r.random() < 0.5:
            insee = f"{r.randint(10, 95)}{r.randint(100, 999)}"
            parts.append(
                "{{Collectivité\n"
                f"|nom={extra['kind']} de {extra['town']}\n|niveau={extra['level']}\n"
                f"|code insee={insee}\n|siren={r.randint(200_000_000, 299_999_999)}\n"
                f"|site=https://www.{extra['town'].lower().replace(' ', '-')}.fr/\n}}}}"
            )
        parts.append(f"Cette page a été imaginée dans le cadre de la recherche - action : {w.link()}.<br />\n"
                     + w.paragraph())
        parts.append("'''Description du module'''")
        parts.append(
            '{| class="wikitable"\n! Publics cibles : !! Temps d\'auto formation pour ce module : '
            "!! Modèles économiques :\n|-\n|\n"
            + "\n".join(f"* {p} : {w.phrase(6)}" for p in ("Public", "Privé", "Personnel"))
            + "\n|\n" + "\n".join(f"* {w.phrase(8)}" for _ in range(3)) + "\n|\n"
            + "\n".join(f"* {w.phrase(7)}" for _ in range(3)) + "\n|}"
        )
        parts.append(w.paragraph())
        parts.append("== Les Tiers-Lieux et les territoires ==\n" + w.paragraph())
        for sub in ("Pour l'environnement", "Pour la société", "Pour les entreprises et l'économie"):
            parts.append(w.section(sub, level=3, blocks=1))
        parts.append("== La vision des Tiers-Lieux propre aux collectivités ==")
        short = {"count": (1, 3), "words": (4, 10)}
        for heading in STATEMENT_HEADINGS:
            items = w.items(**short)
            if heading == "Moyens d'actions" and r.random() < 0.5:
                items = [w.paragraph()] + items
            parts.append(f"=== {heading} ===\n" + "\n".join(items) + "\n")
        parts.append("== Fonctionnement des collectivités par type ==")
        for heading in LEVEL_HEADINGS:
            body = "\n".join(w.items(**short)) if r.random() < 0.5 else ""
            parts.append(f"=== {heading} ===\n{body}\n")
        parts.append("== Partenariats possibles ==\n" + w.paragraph())
        for heading in PARTNER_HEADINGS:
            parts.append(f"=== {heading} ===\n" + "\n".join(w.items(**short)) + "\n")
        w.fill(parts, size, ["Ressources", "Exemples", "Témoignages", "Pour aller plus loin"])
        parts.append("[[Catégorie:Collectivités]]")
        return "\n\n".join(parts)

    def _doc(self, r: random.Random, w: _Writer, title: str, extra: dict, size: int) -> str:
        banner = r.choice(["{{Documentation explicative}}", "{{Ébauche}}",
                           "{{Forum|" + title + "}}", "{{Portail|Les Tiers Lieux}}"])
        parts = [banner, w.paragraph()]
        w.fill(parts, size, ["Introduction", "Les étapes", "Les outils", "Exemples",
                             "Ressources", "Pour aller plus loin", "Objectifs", "Enjeux"])
        parts.append("{{Soutenir Movilab}}\n{{Pied de page Movilab}}")
        parts.append("[[Catégorie:Documentation]]")
        return "\n\n".join(parts)

    def _network(self, r: random.Random, w: _Writer, title: str, extra: dict, size: int) -> str:
        parts = [w.paragraph(), "== Les membres ==\n" + "\n".join(
            f"* {w.link()} : {w.phrase(6)}" for _ in range(r.randint(5, 15)))]
        w.fill(parts, size, ["Les origines", "Finalités & démarche", "Gouvernance", "Actions"])
        parts.append("[[Catégorie:Réseaux]]")
        return "\n\n".join(parts)

    def _redirect(self, r: random.Random, w: _Writer, title: str, extra: dict, size: int) -> str:
        return ""  # filled in by page()

    def _talk(self, r: random.Random, w: _Writer, title: str, extra: dict, size: int) -> str:
        parts = []
        for _ in range(r.randint(3, 8)):
            parts.append(w.section(w.phrase(4).replace("[", "").replace("]", "").replace("'", ""),
                                   blocks=1)
                         + f"--[[Utilisateur:{r.choice(self.users)}]] {r.randint(1, 28)} mai 2021")
        return "\n\n".join(parts)


def changed_revision(page: GenPage, step: int = 1) -> GenPage:
    """The page as the next harvest sees it after an edit: a new revision, a changed text."""
    extra = (f"\n\n== Mise à jour {step} ==\n* Nouvelle information ajoutée lors de la "
             f"révision {step}.\n** Un détail de plus.\n")
    return replace(
        page,
        rev_id=page.rev_id + 1_000_000 * step,
        parent_id=page.rev_id,
        timestamp=f"2025-0{min(step, 9)}-01T12:00:00Z",
        comment=f"Mise à jour {step}",
        text=page.text + extra,
    )


# --------------------------------------------------------------------------- XML


def _user_id(name: str) -> int:
    return 100 + int(hashlib.sha1(name.encode("utf-8")).hexdigest()[:6], 16) % 100_000


def page_xml(page: GenPage) -> str:
    text = page.text
    redirect = f"    <redirect title={quoteattr(page.redirect)} />\n" if page.redirect else ""
    parent = f"      <parentid>{page.parent_id}</parentid>\n" if page.parent_id else ""
    sha1 = base36_sha1(text)
    return (
        "  <page>\n"
        f"    <title>{escape(page.title)}</title>\n"
        f"    <ns>{page.ns}</ns>\n"
        f"    <id>{page.page_id}</id>\n"
        f"{redirect}"
        "    <revision>\n"
        f"      <id>{page.rev_id}</id>\n"
        f"{parent}"
        f"      <timestamp>{page.timestamp}</timestamp>\n"
        "      <contributor>\n"
        f"        <username>{escape(page.contributor)}</username>\n"
        f"        <id>{_user_id(page.contributor)}</id>\n"
        "      </contributor>\n"
        f"      <comment>{escape(page.comment)}</comment>\n"
        "      <model>wikitext</model>\n"
        "      <format>text/x-wiki</format>\n"
        f'      <text bytes="{len(text.encode("utf-8"))}" sha1="{sha1}" xml:space="preserve">'
        f"{escape(text)}</text>\n"
        f"      <sha1>{sha1}</sha1>\n"
        "    </revision>\n"
        "  </page>\n"
    )


def write_export(pages: int, out: Path, seed: int = 8) -> Path:
    """Write the export of a generated wiki of ``pages`` pages."""
    return write_pages(Wiki(pages, seed).pages(), out)


def write_pages(pages: Iterable[GenPage], out: Path) -> Path:
    """Write the export of these generated pages (e.g. a wiki's, some of them edited)."""
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as stream:
        stream.write(HEADER)
        stream.write(SITEINFO)
        for page in pages:
            stream.write(page_xml(page))
        stream.write("</mediawiki>\n")
    tmp.replace(out)
    return out


# --------------------------------------------------------------------------- sample-derived


SAMPLE = Path(__file__).resolve().parent.parent / "tierslieux" / "sample" / "movilab-sample.xml"
_PAGE = re.compile(r"  <page>\n.*?</page>\n", re.S)


def write_sample_export(pages: int, out: Path) -> Path:
    """Write an export of ``pages`` pages made of copies of the bundled sample's pages: copy
    ``k`` (from 2 on) of a page is titled ``"<title> (k)"`` and has its page and revision ids
    moved by ``k`` times a constant; texts are the sample's, byte for byte."""
    text = SAMPLE.read_text(encoding="utf-8")
    found = list(_PAGE.finditer(text))
    head, tail = text[:found[0].start()], text[found[-1].end():]
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as stream:
        stream.write(head)
        for index in range(pages):
            copy, match = divmod(index, len(found))
            stream.write(_sample_copy(found[match].group(0), copy))
        stream.write(tail)
    tmp.replace(out)
    return out


def _sample_copy(page: str, copy: int) -> str:
    if copy == 0:
        return page
    shift = lambda m: f"{m.group(1)}{int(m.group(2)) + copy * 1_000_000}"  # noqa: E731
    page = re.sub(r"(<title>)(.*?)(</title>)", lambda m: f"{m.group(1)}{m.group(2)} ({copy + 1})"
                  f"{m.group(3)}", page, count=1)
    page = re.sub(r"(<ns>\d+</ns>\s*<id>)(\d+)", shift, page, count=1)
    page = re.sub(r"(<revision>\s*<id>)(\d+)", shift, page)
    return re.sub(r"(<(?:parentid|origin)>)(\d+)", shift, page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    write_export(args.pages, args.out, args.seed)
    size = args.out.stat().st_size
    print(f"{args.out}: {args.pages} pages, {size / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
