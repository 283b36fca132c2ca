"""Albanian labels of the stored vocabularies (DOMAIN.md), for exports with lang=sq."""

from enum import StrEnum

from app.models import (
    ActivityStatus,
    BodyKind,
    MeetingKind,
    Pillar,
    ProblemTheme,
    RecommendationStatus,
)

SQ_LABELS: dict[type[StrEnum], dict[str, str]] = {
    RecommendationStatus: {
        "open": "E hapur",
        "in_progress": "Në zbatim",
        "implemented": "E zbatuar",
        "partially_implemented": "Pjesërisht e zbatuar",
        "not_implemented": "E pazbatuar",
        "withdrawn": "E tërhequr",
    },
    ActivityStatus: {
        "not_started": "Pa filluar",
        "in_progress": "Në proces",
        "completed": "E përfunduar",
        "cancelled": "E anuluar",
    },
    Pillar: {
        "prevention": "Parandalimi",
        "protection": "Mbrojtja dhe asistenca",
        "prosecution": "Ndjekja penale",
        "partnership": "Partneriteti dhe bashkëpunimi",
    },
    ProblemTheme: {
        "coordination": "Koordinimi",
        "identification_referral": "Identifikimi dhe referimi",
        "victim_assistance": "Asistenca për viktimat",
        "reintegration": "Riintegrimi",
        "child_protection": "Mbrojtja e fëmijëve",
        "school_dropout": "Braktisja e shkollës",
        "labour_exploitation": "Shfrytëzimi në punë",
        "online_safety": "Siguria online",
        "awareness": "Ndërgjegjësimi",
        "data_sharing": "Shkëmbimi i të dhënave",
        "capacity_building": "Fuqizimi i kapaciteteve",
        "funding": "Financimi",
        "legal_framework": "Kuadri ligjor",
        "other": "Tjetër",
    },
    BodyKind: {
        "committee": "Komiteti Rajonal Antitrafik (KRAT)",
        "technical_table": "Tryeza Teknike",
    },
    MeetingKind: {
        "regular": "Mbledhje e rregullt",
        "extraordinary": "Mbledhje e jashtëzakonshme",
        "workshop": "Punëtori",
        "training": "Trajnim",
        "awareness": "Aktivitet ndërgjegjësimi",
        "conference": "Konferencë",
    },
}

DELAYED_SQ = "Me vonesë"


def label(vocabulary: type[StrEnum], value: str | None, lang: str) -> str:
    """Return the label of a vocabulary value in `lang` ('en' is the value itself)."""
    if value is None:
        return ""
    if lang == "sq":
        return SQ_LABELS[vocabulary].get(value, value)
    return value
