"""The closed ``tl:`` namespace of the ontology's terms (generated: do not edit by hand).

GENERATED from ontology.ttl by ``python -m tierslieux.ontology.generate``.

Unknown names raise AttributeError (``_fail = True``), so a typo is an error. Names
that are not Python identifiers (concepts such as ``level-region``) are reached with
``TL["level-region"]``.
"""

from rdflib.namespace import DefinedNamespace, Namespace
from rdflib.term import URIRef


class TL(DefinedNamespace):
    """Ontology of third places and local governments (tl:)."""

    _fail = True

    # classes
    Annotation: URIRef  # Semantic annotation
    ArrondissementMunicipal: URIRef  # Municipal arrondissement
    Audience: URIRef  # Audience
    Collectivity: URIRef  # Local government
    CollectivityLevel: URIRef  # Collectivity level
    Commune: URIRef  # Municipality
    Departement: URIRef  # Département
    Epci: URIRef  # Inter-municipal body
    ListItem: URIRef  # List item
    Network: URIRef  # Network
    Organisation: URIRef  # Organisation
    PageStatus: URIRef  # Editorial status
    PageType: URIRef  # Page type
    PartnershipType: URIRef  # Partnership type
    Person: URIRef  # Person
    PlaceStatus: URIRef  # Place status
    Query: URIRef  # Semantic query
    Region: URIRef  # Region
    Revision: URIRef  # Revision
    Section: URIRef  # Section
    SemanticProperty: URIRef  # Semantic property
    Statement: URIRef  # Statement
    StatementKind: URIRef  # Statement kind
    Subobject: URIRef  # Semantic subobject
    TemplateCall: URIRef  # Template call
    TemplateParameter: URIRef  # Template parameter
    Theme: URIRef  # Theme
    ThirdPlace: URIRef  # Third place
    WikiPage: URIRef  # Wiki page

    # properties
    allowedValues: URIRef  # allowed values
    alternativeTitle: URIRef  # alternative title
    annotates: URIRef  # annotates
    annotationValue: URIRef  # annotation value
    audience: URIRef  # audience
    category: URIRef  # category
    closedSince: URIRef  # closed since
    closureNote: URIRef  # closure note
    concernsLevel: URIRef  # concerns level
    contributor: URIRef  # contributor
    contributorName: URIRef  # contributor name
    declaredType: URIRef  # declared type
    depth: URIRef  # depth
    describes: URIRef  # describes
    description: URIRef  # description
    email: URIRef  # e-mail
    endDate: URIRef  # end date
    externalLink: URIRef  # external link
    hasItem: URIRef  # has item
    hasParameter: URIRef  # has parameter
    hasSection: URIRef  # has section
    heading: URIRef  # heading
    inArrondissement: URIRef  # in municipal arrondissement
    inCommune: URIRef  # in municipality
    inDepartement: URIRef  # in département
    inEpci: URIRef  # in inter-municipal body
    inPage: URIRef  # in page
    inRegion: URIRef  # in region
    inSection: URIRef  # in section
    inseeCode: URIRef  # INSEE code
    inseeTerritory: URIRef  # INSEE territory
    level: URIRef  # level
    linksTo: URIRef  # links to
    memberOf: URIRef  # member of
    mentions: URIRef  # mentions
    name: URIRef  # name
    namespace: URIRef  # namespace
    ofPage: URIRef  # revision of page
    officialName: URIRef  # official name
    order: URIRef  # order
    ordered: URIRef  # ordered
    pageAddress: URIRef  # page address
    pageId: URIRef  # page id
    pageStatus: URIRef  # editorial status
    pageType: URIRef  # page type
    paramName: URIRef  # parameter name
    paramValue: URIRef  # parameter value
    parentItem: URIRef  # parent item
    parentSection: URIRef  # parent section
    partner: URIRef  # partner
    partnershipType: URIRef  # partnership type
    phone: URIRef  # phone
    postalCode: URIRef  # postal code
    printout: URIRef  # printout
    propertyName: URIRef  # property name
    propertyPage: URIRef  # property page
    queryText: URIRef  # query text
    redirectsTo: URIRef  # redirects to
    referent: URIRef  # referent
    revisionId: URIRef  # revision id
    shortName: URIRef  # short name
    siren: URIRef  # SIREN number
    siret: URIRef  # SIRET number
    startDate: URIRef  # start date
    statementKind: URIRef  # statement kind
    status: URIRef  # status
    streetAddress: URIRef  # street address
    subPageOf: URIRef  # sub-page of
    subobjectName: URIRef  # subobject name
    subobjectOf: URIRef  # subobject of
    templateName: URIRef  # template name
    text: URIRef  # text
    theme: URIRef  # theme
    title: URIRef  # title
    town: URIRef  # town
    typedValue: URIRef  # typed value
    website: URIRef  # website

    # concept schemes
    Audiences: URIRef  # Audiences
    CollectivityLevels: URIRef  # Collectivity levels
    PageStatuses: URIRef  # Editorial statuses
    PageTypes: URIRef  # Page types
    PartnershipTypes: URIRef  # Partnership types
    PlaceStatuses: URIRef  # Place statuses
    StatementKinds: URIRef  # Statement kinds
    Themes: URIRef  # Themes

    _extras = [
        "audience-personnel",  # Individuals
        "audience-prive",  # Private sector
        "audience-public",  # Public sector
        "kind-avantage",  # Advantage
        "kind-enjeu",  # Issue
        "kind-facteur",  # Factor
        "kind-frein",  # Obstacle
        "kind-moyen-action",  # Means of action
        "kind-objectif",  # Objective
        "kind-opportunite",  # Opportunity
        "level-arrondissement-municipal",  # Municipal arrondissement
        "level-communaute-agglomeration",  # Agglomeration community
        "level-communaute-communes",  # Community of municipalities
        "level-communaute-urbaine",  # Urban community
        "level-commune",  # Municipality
        "level-departement",  # Département
        "level-epci",  # Inter-municipal body
        "level-etat",  # State
        "level-europe",  # Europe
        "level-metropole",  # Metropolis
        "level-parc",  # Regional nature park
        "level-quartier",  # Neighbourhood
        "level-region",  # Region
        "pagestatus-stub",  # Stub
        "pagetype-collectivite",  # Local government
        "pagetype-commun",  # Commons
        "pagetype-defi",  # Challenge
        "pagetype-discussion",  # Talk page
        "pagetype-document",  # Document
        "pagetype-evenement",  # Event
        "pagetype-explication",  # Explanation
        "pagetype-modele",  # Template
        "pagetype-projet",  # Project
        "pagetype-redirection",  # Redirect
        "pagetype-reseau",  # Network
        "pagetype-tiers-lieu",  # Third place
        "partnership-delegation-service-public",  # Public service delegation
        "partnership-mission-interet-general",  # Mission of general interest
        "partnership-modele-economique",  # Business model
        "partnership-prestation",  # Service contract
        "partnership-subvention",  # Grant
        "status-closed",  # Closed
        "status-open",  # Open
        "theme-animation",  # Community animation
        "theme-autre",  # Other
        "theme-documentation",  # Documentation
        "theme-economique",  # Economic
        "theme-gouvernance",  # Governance
    ]

    _NS = Namespace("https://w3id.org/tierslieux/ontology#")
