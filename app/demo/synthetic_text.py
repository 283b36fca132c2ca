"""Albanian phrase lists the synthetic data composes its text from (with diacritics).

Sentences are built from parts whose articles already agree (`Identifikimi i hershëm i …`
takes a genitive plural, `… për …` an accusative), so every combination reads as Albanian.
"""

from app.models import InstitutionKind, Pillar, ProblemTheme

K = InstitutionKind

FIRST_NAMES = (
    "Arben", "Blerina", "Dritan", "Elona", "Fatmir", "Gentiana", "Ilir", "Jonida", "Klodian",
    "Lindita", "Mirela", "Ndriçim", "Orjola", "Përparim", "Rezarta", "Shpëtim", "Teuta",
    "Valbona", "Xhevahir", "Zamira", "Ënkelejda", "Çlirim", "Erjona", "Besnik",
)  # fmt: skip
SURNAMES = (
    "Hoxha", "Shehu", "Leka", "Gjoka", "Marku", "Çela", "Dervishi", "Kola", "Prifti", "Zeqiri",
    "Brahimaj", "Dushku", "Muça", "Rrapaj", "Bërdufi", "Gjençi", "Kërçiku", "Tafaj",
)  # fmt: skip
POSITIONS = (
    "Specialist", "Përgjegjës sektori", "Drejtor", "Punonjës social", "Inspektor",
    "Koordinator", "Psikolog", "Zëvendësdrejtor",
)  # fmt: skip

# (genitive plural, accusative plural, institution kinds that usually lead such work)
GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("nxënësve që braktisin shkollën", "nxënësit që braktisin shkollën", (K.education,)),
    (
        "viktimave të mundshme të trafikimit",
        "viktimat e mundshme të trafikimit",
        (K.social_service, K.police),
    ),
    ("komuniteteve vulnerabël", "komunitetet vulnerabël", (K.municipality, K.social_service)),
    ("fëmijëve në situatë rruge", "fëmijët në situatë rruge", (K.social_service, K.municipality)),
    ("fëmijëve në rrezik", "fëmijët në rrezik", (K.social_service, K.education)),
    ("të miturve të pashoqëruar", "të miturit e pashoqëruar", (K.border_migration, K.police)),
    ("grave dhe vajzave në rrezik", "gratë dhe vajzat në rrezik", (K.social_service,)),
    ("punëtorëve sezonalë", "punëtorët sezonalë", (K.labour_inspectorate, K.employment)),
    ("të rinjve të papunë", "të rinjtë e papunë", (K.employment, K.vocational_training)),
    ("viktimave të trafikimit", "viktimat e trafikimit", (K.social_service, K.health)),
    ("familjeve në nevojë", "familjet në nevojë", (K.municipality, K.social_service)),
    ("migrantëve të kthyer", "migrantët e kthyer", (K.border_migration, K.employment)),
)

# Heads ending where a genitive plural (or, with {acc}, an accusative) follows.
HEADS_GENITIVE = (
    "Identifikimi i hershëm i",
    "Ngritja e një mekanizmi të përbashkët për referimin e",
    "Ngritja e një mekanizmi të përbashkët për ndjekjen e rasteve të",
    "Hartimi i një protokolli bashkëpunimi për mbrojtjen e",
    "Monitorimi i vazhdueshëm i situatës së",
    "Trajnimi i punonjësve të shërbimit social për identifikimin e",
    "Trajnimi i punonjësve të policisë për intervistimin e",
    "Përfshirja në programet e formimit profesional e",
    "Sigurimi i fondeve për strehimin e përkohshëm të",
    "Shkëmbimi i rregullt i informacionit për rastet e",
    "Hartimi i një liste të përditësuar të",
    "Vlerësimi i nevojave të",
)
HEADS_ACCUSATIVE = (
    "Përmirësimi i shërbimeve të asistencës për",
    "Organizimi i fushatave ndërgjegjësuese për",
    "Krijimi i një baze të dhënash të përbashkët për",
    "Ofrimi i këshillimit psiko-social për",
    "Ngritja e grupeve të lëvizshme të identifikimit për",
)
PARTNERS = (
    "shkollave", "policisë", "shërbimit social", "bashkisë", "organizatave të shoqërisë civile",
    "Njësisë për Mbrojtjen e Fëmijëve", "zyrave të punësimit", "strukturave shëndetësore",
)  # fmt: skip
PARTNERSHIP_HEAD = "Forcimi i bashkëpunimit ndërmjet {a} dhe {b} për mbrojtjen e"
TAILS = (
    "", "", "", " në nivel vendor", ", me fokus në zonat rurale",
    ", në bashkëpunim me organizatat e shoqërisë civile", " gjatë muajit të ndërgjegjësimit",
    ", duke raportuar çdo tremujor në KRAT", " brenda vitit shkollor",
    " në përputhje me Strategjinë Kombëtare", " në të gjitha njësitë administrative të qarkut",
    ", me pjesëmarrjen e prindërve dhe mësuesve",
)  # fmt: skip
SECOND_SENTENCES = (
    "", "", "", "", "", " Institucioni drejtues raporton në mbledhjen e ardhshme.",
    " Të përcaktohet një person kontakti në çdo institucion.",
    " Rezultatet të ndahen me Zyrën e Koordinatorit Kombëtar.",
    " Të hartohet një plan pune me afate të qarta.",
    " Të sigurohet mbështetje financiare nga buxheti vendor.",
    " Të përdoren procedurat standarde të veprimit për referimin.",
)  # fmt: skip

PROBLEM_TITLES: dict[str, tuple[str, ...]] = {
    ProblemTheme.coordination: (
        "Mungesa e koordinimit dhe drejtimit të punës në nivel vendor",
        "Mbledhjet e Tryezës Teknike nuk zhvillohen rregullisht",
    ),
    ProblemTheme.identification_referral: (
        "Identifikimi i vonuar i viktimave të mundshme",
        "Referimi i rasteve nuk ndjek procedurat standarde",
    ),
    ProblemTheme.victim_assistance: (
        "Mungesa e strehimit të përkohshëm për viktimat",
        "Shërbime të pamjaftueshme psiko-sociale",
    ),
    ProblemTheme.reintegration: ("Vështirësi në punësimin e viktimave pas daljes nga qendra",),
    ProblemTheme.child_protection: (
        "Rritja e numrit të fëmijëve në situatë rruge",
        "Njësitë për Mbrojtjen e Fëmijëve pa staf të mjaftueshëm",
    ),
    ProblemTheme.school_dropout: (
        "Monitorimi i nxënësve që braktisin shkollën",
        "Braktisja e shkollës nga fëmijët e komuniteteve rome dhe egjiptiane",
    ),
    ProblemTheme.labour_exploitation: ("Punë e fëmijëve në bizneset sezonale",),
    ProblemTheme.online_safety: ("Rekrutimi i të miturve përmes rrjeteve sociale",),
    ProblemTheme.awareness: ("Njohuri të pakta të prindërve për rreziqet e trafikimit",),
    ProblemTheme.data_sharing: ("Të dhënat për rastet nuk shkëmbehen ndërmjet institucioneve",),
    ProblemTheme.capacity_building: ("Punonjës të rinj pa trajnim për identifikimin",),
    ProblemTheme.funding: ("Mungesa e fondeve për aktivitetet e planit të veprimit",),
    ProblemTheme.legal_framework: ("Mungesa e akteve nënligjore për mekanizmin e referimit",),
    ProblemTheme.other: ("Ndryshime të shpeshta të personave të kontaktit",),
}
PROBLEM_THEME_WEIGHTS = (12, 12, 9, 5, 10, 9, 7, 5, 6, 7, 7, 5, 3, 3)
PROBLEM_DESCRIPTIONS = (
    None,
    "U diskutua gjerësisht nga anëtarët e komitetit.",
    "Institucionet raportuan vështirësi të njëjta gjatë vitit të fundit.",
    "Çështja u ngrit edhe në mbledhjen e mëparshme pa u zgjidhur.",
    "Të dhënat e paraqitura tregojnë një rritje të rasteve në zonat periferike.",
)

STATUS_NOTES: dict[str, tuple[str, ...]] = {
    "in_progress": (
        "Institucioni drejtues ka filluar zbatimin.",
        "U caktua grupi i punës dhe u hartua kalendari.",
    ),
    "implemented": (
        "Sipas raportit të institucionit përgjegjës, rekomandimi u zbatua plotësisht.",
        "Aktiviteti u realizua dhe u raportua në KRAT.",
    ),
    "partially_implemented": (
        "U zbatua vetëm në disa njësi administrative për mungesë fondesh.",
        "Zbatimi mbeti i pjesshëm; vazhdon në planin e ardhshëm.",
    ),
    "not_implemented": (
        "Nuk u zbatua për mungesë stafi dhe buxheti.",
        "Institucioni përgjegjës nuk raportoi asnjë veprim.",
    ),
    "withdrawn": (
        "U tërhoq pasi u përfshi në një rekomandim më të gjerë.",
        "Nuk është më e nevojshme pas ndryshimeve ligjore.",
    ),
}
FOLLOW_UP_TEXTS = (
    "U zhvillua një takim pune me institucionet partnere.",
    "U dërgua shkresa zyrtare drejtuar institucioneve përgjegjëse.",
    "U organizua një seancë informuese me punonjësit e terrenit.",
    "U përditësua lista e rasteve dhe u nda me Tryezën Teknike.",
    "Janë identifikuar dhe referuar rastet e reja të muajit.",
)

# Meeting titles per kind; {body} is the body's name, {region} the region's.
MEETING_TITLES: dict[str, tuple[str, ...]] = {
    "regular": ("{body}: mbledhje e rregullt", "{body}: mbledhje pune"),
    "extraordinary": ("{body}: mbledhje e jashtëzakonshme",),
    "workshop": (
        "Punëtori për identifikimin dhe referimin e viktimave, {region}",
        "Punëtori mbi planin 2-vjeçar të veprimit antitrafik, {region}",
    ),
    "training": ("Trajnim për punonjësit e Tryezës Teknike, {region}",),
    "awareness": (
        "Aktivitet ndërgjegjësimi me prindërit për parandalimin e trafikimit, {region}",
        "Tetori, muaji i ndërgjegjësimit kundër trafikimit: takim me nxënësit, {region}",
    ),
    "conference": ("Konferencë rajonale për bashkëpunimin kundër trafikimit, {region}",),
}
AGENDA = (
    "Miratimi i rendit të ditës",
    "Informacion mbi rastet e identifikuara",
    "Ecuria e planit të veprimit",
    "Raportimi i institucioneve anëtare",
    "Problematikat e konstatuara",
    "Të ndryshme",
)
SUMMARIES = (
    None,
    "Anëtarët diskutuan ecurinë e rekomandimeve të mëparshme dhe problematikat e konstatuara.",
    "U paraqitën të dhënat e tremujorit dhe u ranë dakord masat e ardhshme.",
)

OBJECTIVES: dict[str, tuple[str, ...]] = {
    Pillar.prevention: (
        "Parandalimi i braktisjes së shkollës dhe i shfrytëzimit të fëmijëve",
        "Rritja e ndërgjegjësimit të komuniteteve për rreziqet e trafikimit",
    ),
    Pillar.protection: (
        "Asistenca dhe riintegrimi i viktimave dhe viktimave të mundshme",
        "Përmirësimi i identifikimit dhe referimit të rasteve",
    ),
    Pillar.prosecution: ("Forcimi i hetimit dhe ndjekjes penale të trafikimit",),
    Pillar.partnership: (
        "Forcimi i bashkëpunimit ndërinstitucional dhe me shoqërinë civile",
        "Shkëmbimi i të dhënave ndërmjet anëtarëve të KRAT",
    ),
}
# (title, indicator, unit, smallest target, largest target)
ACTIVITIES: dict[str, tuple[tuple[str, str, str, int, int], ...]] = {
    Pillar.prevention: (
        ("Trajnime për nxënësit për mbrojtjen nga dhuna dhe shfrytëzimi",
         "Numri i nxënësve të trajnuar", "nxënës", 100, 800),
        ("Fushata ndërgjegjësimi në shkolla gjatë muajit tetor",
         "Numri i shkollave të përfshira", "shkolla", 5, 40),
        ("Takime me prindërit në zonat rurale", "Numri i takimeve", "takime", 4, 30),
        ("Inspektime të përbashkëta për punën e fëmijëve në bizneset sezonale",
         "Numri i inspektimeve të përbashkëta", "inspektime", 10, 80),
    ),
    Pillar.protection: (
        ("Vlerësimi i nevojave të viktimave të mundshme", "Numri i vlerësimeve", "raste", 10, 120),
        ("Strehim i përkohshëm për viktimat e trafikimit", "Numri i ditëve të strehimit",
         "ditë", 30, 600),
        ("Kurse të formimit profesional për viktimat", "Numri i të trajnuarve", "persona", 5, 60),
    ),
    Pillar.prosecution: (
        ("Trajnim i përbashkët i policisë dhe prokurorisë", "Numri i punonjësve të trajnuar",
         "punonjës", 10, 60),
        ("Kontrolle në pikat e kalimit kufitar", "Numri i kontrolleve", "kontrolle", 20, 300),
    ),
    Pillar.partnership: (
        ("Mbledhje tremujore të Tryezës Teknike", "Numri i mbledhjeve", "mbledhje", 4, 8),
        ("Memorandum bashkëpunimi me organizatat e shoqërisë civile",
         "Memorandum i nënshkruar", "memorandum", 1, 1),
        ("Bazë e përbashkët e të dhënave për rastet", "Bazë funksionale", "bazë", 1, 1),
    ),
}  # fmt: skip
FUNDING_SOURCES = (None, None, "Buxheti vendor", "World Vision Shqipëri", "IOM", "UNICEF Albania")
