"""The one catalogue of finding codes: severity, French title, message template and action."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from certsync.french import plural


class Severity(StrEnum):
    """How much a finding weighs on the run's outcome."""

    BLOCKING = "blocking"
    WARNING = "warning"
    INFO = "info"

    @property
    def label(self) -> str:
        """French label shown in reports."""
        return {"blocking": "bloquant", "warning": "avertissement", "info": "information"}[self]


class Code(StrEnum):
    """Stable identifiers of every finding; report.json carries these strings."""

    # Roster
    ROSTER_ROW_INCOMPLETE = "ROSTER_ROW_INCOMPLETE"
    ROSTER_EMAIL_INVALID = "ROSTER_EMAIL_INVALID"
    ROSTER_DUPLICATE_AGENT = "ROSTER_DUPLICATE_AGENT"
    ROSTER_FILE_NOT_FOUND = "ROSTER_FILE_NOT_FOUND"
    ROSTER_ID_INVALID = "ROSTER_ID_INVALID"
    # Files
    FILE_PRIVATE_KEY = "FILE_PRIVATE_KEY"
    FILE_MULTIPLE_CERTIFICATES = "FILE_MULTIPLE_CERTIFICATES"
    FILE_CHAIN_INCLUDED = "FILE_CHAIN_INCLUDED"
    FILE_UNREADABLE = "FILE_UNREADABLE"
    FILE_NOT_A_CERTIFICATE = "FILE_NOT_A_CERTIFICATE"
    FILE_OUTSIDE_FOLDER = "FILE_OUTSIDE_FOLDER"
    FILE_ENTRY_REFUSED = "FILE_ENTRY_REFUSED"
    FILE_DUPLICATE = "FILE_DUPLICATE"
    # Matching
    MATCH_AMBIGUOUS = "MATCH_AMBIGUOUS"
    MATCH_CONFLICT = "MATCH_CONFLICT"
    MATCH_NO_CERTIFICATE = "MATCH_NO_CERTIFICATE"
    MATCH_ORPHAN_FILE = "MATCH_ORPHAN_FILE"
    MATCH_SUPERSEDED = "MATCH_SUPERSEDED"
    MATCH_SHARED_CERTIFICATE = "MATCH_SHARED_CERTIFICATE"
    MATCH_DECISION_APPLIED = "MATCH_DECISION_APPLIED"
    MATCH_DECISION_INVALID = "MATCH_DECISION_INVALID"
    MATCH_OTHER_ORGANISATION = "MATCH_OTHER_ORGANISATION"
    MATCH_EMAIL_NAME_MISMATCH = "MATCH_EMAIL_NAME_MISMATCH"
    MATCH_NEAR_NAME_CONTRADICTED = "MATCH_NEAR_NAME_CONTRADICTED"
    MATCH_FILE_NAMES_OTHER_AGENT = "MATCH_FILE_NAMES_OTHER_AGENT"
    MATCH_WEAKER_CANDIDATE = "MATCH_WEAKER_CANDIDATE"
    # Certificate validation
    CERT_EXPIRED = "CERT_EXPIRED"
    CERT_NOT_YET_VALID = "CERT_NOT_YET_VALID"
    CERT_EXPIRES_SOON = "CERT_EXPIRES_SOON"
    CERT_UNTRUSTED = "CERT_UNTRUSTED"
    CERT_CHAIN_UNCHECKED = "CERT_CHAIN_UNCHECKED"
    CERT_WEAK_KEY = "CERT_WEAK_KEY"
    CERT_WEAK_SIGNATURE = "CERT_WEAK_SIGNATURE"
    CERT_IS_CA = "CERT_IS_CA"
    CERT_KEY_USAGE = "CERT_KEY_USAGE"
    CERT_ORG_MISMATCH = "CERT_ORG_MISMATCH"
    CERT_POLICY_NOT_ALLOWED = "CERT_POLICY_NOT_ALLOWED"
    CERT_REVOKED = "CERT_REVOKED"
    CERT_REVOCATION_UNKNOWN = "CERT_REVOCATION_UNKNOWN"
    CERT_RENEWED = "CERT_RENEWED"
    # Platform
    MEGALIS_ACCOUNT_NOT_FOUND = "MEGALIS_ACCOUNT_NOT_FOUND"
    MEGALIS_ACCOUNT_CREATED = "MEGALIS_ACCOUNT_CREATED"
    MEGALIS_REJECTED = "MEGALIS_REJECTED"
    MEGALIS_UNAVAILABLE = "MEGALIS_UNAVAILABLE"
    MEGALIS_VERIFY_FAILED = "MEGALIS_VERIFY_FAILED"
    MEGALIS_ACCOUNT_DISABLED = "MEGALIS_ACCOUNT_DISABLED"
    MEGALIS_ACCOUNT_AMBIGUOUS = "MEGALIS_ACCOUNT_AMBIGUOUS"
    MEGALIS_LISTING_INCOMPLETE = "MEGALIS_LISTING_INCOMPLETE"
    MEGALIS_OUTCOME_UNKNOWN = "MEGALIS_OUTCOME_UNKNOWN"
    MEGALIS_NOT_SELECTED = "MEGALIS_NOT_SELECTED"
    # Onboarding through the socle's importer
    ONBOARD_VALUE_ADAPTED = "ONBOARD_VALUE_ADAPTED"
    ONBOARD_VALUE_DROPPED = "ONBOARD_VALUE_DROPPED"
    ONBOARD_VALUE_REFUSED = "ONBOARD_VALUE_REFUSED"
    ONBOARD_FIELD_MISSING = "ONBOARD_FIELD_MISSING"
    ONBOARD_NO_ORGANISATION = "ONBOARD_NO_ORGANISATION"
    ONBOARD_OTHER_ORGANISATION = "ONBOARD_OTHER_ORGANISATION"
    ONBOARD_ACCOUNT_DISABLED = "ONBOARD_ACCOUNT_DISABLED"
    ONBOARD_EXISTING_REFUSED = "ONBOARD_EXISTING_REFUSED"
    ONBOARD_EXISTING_WOULD_CHANGE = "ONBOARD_EXISTING_WOULD_CHANGE"
    ONBOARD_FILE_SPLIT = "ONBOARD_FILE_SPLIT"


@dataclass(frozen=True, slots=True)
class Spec:
    """How one code is presented to the administrator."""

    severity: Severity
    """Blocking findings stop the certificate from being pushed and make the exit code 1."""
    title: str
    """Short French title."""
    message: str
    """French message template, formatted with the finding's parameters."""
    action: str
    """What the administrator should do, in French."""


_B, _W, _I = Severity.BLOCKING, Severity.WARNING, Severity.INFO

CATALOGUE: Mapping[Code, Spec] = {
    Code.ROSTER_ROW_INCOMPLETE: Spec(
        _B,
        "Ligne incomplète",
        "La ligne n'a pas de {missing}.",
        "Complétez la ligne dans la liste des agents puis relancez.",
    ),
    Code.ROSTER_EMAIL_INVALID: Spec(
        _B,
        "Adresse e-mail invalide",
        "L'adresse « {email} » n'est pas une adresse e-mail valide ({reason}).",
        "Corrigez l'adresse dans la liste des agents (sans espace ni caractère spécial).",
    ),
    Code.ROSTER_DUPLICATE_AGENT: Spec(
        _B,
        "Agent en double",
        "L'adresse « {email} » figure déjà ligne {first_row} ; cette ligne est ignorée.",
        "Supprimez la ligne en double ou corrigez l'adresse e-mail.",
    ),
    Code.ROSTER_FILE_NOT_FOUND: Spec(
        _B,
        "Fichier introuvable",
        "Le fichier « {name} » indiqué pour cet agent n'existe pas dans le dossier des "
        "certificats{reason}.",
        "Vérifiez le nom du fichier dans la colonne « Fichier » ou déposez le fichier dans le "
        "dossier des certificats.",
    ),
    Code.ROSTER_ID_INVALID: Spec(
        _W,
        "Identifiant d'organisme illisible",
        "La valeur « {value} » de la colonne {column} n'est pas un numéro {column} valide "
        "({reason}) ; elle n'est pas utilisée.",
        "Dans le tableur, mettez la colonne au format Texte, saisissez le numéro complet "
        "puis réexportez la liste.",
    ),
    Code.FILE_PRIVATE_KEY: Spec(
        _B,
        "Clé privée dans le fichier",
        "Le fichier contient une clé privée ({kind}). Il n'est pas utilisé et la clé n'a pas "
        "été lue. La clé privée a quitté le support de l'agent : elle doit être considérée "
        "comme compromise.",
        "Supprimez ce fichier de façon sûre, demandez à l'agent de faire révoquer ce certificat "
        "auprès de son autorité de certification et de n'envoyer que la partie publique "
        "(export « X.509 encodé en base 64 (.cer) », sans la clé privée).",
    ),
    Code.FILE_MULTIPLE_CERTIFICATES: Spec(
        _B,
        "Plusieurs certificats d'agent dans un fichier",
        "Le fichier contient {count} certificats d'utilisateur ; impossible de savoir lequel "
        "utiliser.",
        "Demandez un fichier par agent, contenant uniquement son certificat.",
    ),
    Code.FILE_CHAIN_INCLUDED: Spec(
        _I,
        "Chaîne de certification incluse",
        "Le fichier contient aussi {count:certificat d'autorité|certificats d'autorité} ; "
        "seul le certificat de "
        "l'agent ({subject}) est utilisé.",
        "Aucune action nécessaire.",
    ),
    Code.FILE_UNREADABLE: Spec(
        _B,
        "Fichier illisible",
        "Le fichier n'a pas pu être lu : {reason}.",
        "Demandez à l'agent de réexporter son certificat (partie publique, format .cer).",
    ),
    Code.FILE_NOT_A_CERTIFICATE: Spec(
        _B,
        "Pas un certificat",
        "Le fichier n'est pas un certificat ({reason}).",
        "Demandez à l'agent d'exporter la partie publique de son certificat au format .cer "
        "(et non une capture d'écran, une demande de certificat ou un document).",
    ),
    Code.FILE_OUTSIDE_FOLDER: Spec(
        _B,
        "Lien hors du dossier",
        "Le fichier est un lien symbolique qui mène hors du dossier des certificats ; il "
        "n'est pas lu.",
        "Copiez le fichier lui-même dans le dossier des certificats.",
    ),
    Code.FILE_ENTRY_REFUSED: Spec(
        _B,
        "Élément du dossier non lu",
        "Cet élément du dossier des certificats n'a pas été lu : {reason}.",
        "Renommez, déplacez ou corrigez l'élément (ou les droits du dossier) puis relancez ; "
        "les autres fichiers ont été traités.",
    ),
    Code.FILE_DUPLICATE: Spec(
        _I,
        "Certificat en double",
        "Ce fichier contient le même certificat que « {kept} », qui est utilisé à sa place.",
        "Aucune action nécessaire ; vous pouvez supprimer le doublon.",
    ),
    Code.MATCH_AMBIGUOUS: Spec(
        _B,
        "Attribution ambiguë",
        "Le certificat « {cn} » ne peut pas être attribué avec certitude ; candidats : "
        "{candidates}. Personne ne le reçoit.",
        "Indiquez l'agent concerné dans le fichier de décisions (empreinte SHA-256 {sha256} → "
        "e-mail de l'agent) ou dans la colonne « Fichier » de la liste.",
    ),
    Code.MATCH_CONFLICT: Spec(
        _B,
        "Indices contradictoires",
        "Le contenu du certificat (« {cn} », {content_signal}) désigne {content_agent}, mais "
        "{other_signal} désigne {other_agent}. Personne ne le reçoit.",
        "Vérifiez à qui appartient ce certificat, puis indiquez-le dans le fichier de décisions "
        "(empreinte SHA-256 {sha256} → e-mail de l'agent) ou corrigez la liste.",
    ),
    Code.MATCH_NO_CERTIFICATE: Spec(
        _W,
        "Aucun certificat",
        "Aucun certificat utilisable n'a été trouvé pour cet agent{reason}.",
        "Demandez à l'agent d'envoyer la partie publique de son certificat (.cer).",
    ),
    Code.MATCH_ORPHAN_FILE: Spec(
        _W,
        "Certificat sans agent",
        "Le certificat « {cn} » ne correspond à aucun agent de la liste.",
        "Ajoutez l'agent à la liste, ou indiquez son e-mail dans le fichier de décisions "
        "(empreinte SHA-256 {sha256}), ou retirez le fichier.",
    ),
    Code.MATCH_SUPERSEDED: Spec(
        _I,
        "Certificat remplacé",
        "Un certificat plus récent ({newer}) a été reçu pour le même agent ; celui-ci n'est "
        "pas utilisé.",
        "Aucune action nécessaire ; vous pouvez retirer l'ancien fichier.",
    ),
    Code.MATCH_SHARED_CERTIFICATE: Spec(
        _W,
        "Certificat partagé entre comptes",
        "Le même certificat est attribué à plusieurs comptes : {emails}. C'est permis sur "
        "Mégalis, mais S²LOW refuse un même certificat sur deux comptes sans identifiant et "
        "mot de passe pour les distinguer.",
        "Vérifiez qu'il s'agit bien de la même personne dans plusieurs collectivités et "
        "faites attribuer un identifiant et un mot de passe S²LOW à chacun de ces comptes.",
    ),
    Code.MATCH_DECISION_APPLIED: Spec(
        _I,
        "Décision manuelle appliquée",
        "Attribution fixée par {by} : {decision}.",
        "Aucune action nécessaire.",
    ),
    Code.MATCH_DECISION_INVALID: Spec(
        _W,
        "Décision inapplicable",
        "La décision {where} n'est pas appliquée : {reason}.",
        "Corrigez la ligne du fichier de décisions (empreinte SHA-256 ; e-mail de la liste ou "
        "« ignorer »).",
    ),
    Code.MATCH_OTHER_ORGANISATION: Spec(
        _B,
        "Homonyme d'un autre organisme",
        "Le certificat « {cn} » vient de l'organisme {cert_org} ; dans la liste, ce nom est "
        "celui de {candidates}, organisme {roster_org}. Un nom seul ne suffit pas d'un "
        "organisme à l'autre : personne ne le reçoit.",
        "Si l'agent a changé de collectivité, confirmez-le dans le fichier de décisions "
        "(empreinte SHA-256 {sha256} → e-mail de l'agent) ; sinon ce certificat est celui d'un "
        "homonyme : retirez le fichier.",
    ),
    Code.MATCH_EMAIL_NAME_MISMATCH: Spec(
        _B,
        "E-mail d'un agent, nom d'un autre",
        "Le certificat « {cn} » porte l'adresse {email}, celle de {email_agent}, mais son nom "
        "ne correspond pas à cet agent{name_side} (boîte partagée, ancien titulaire du "
        "poste ?). Personne ne le reçoit.",
        "Vérifiez à qui appartient ce certificat, puis indiquez-le dans le fichier de décisions "
        "(empreinte SHA-256 {sha256} → e-mail de l'agent).",
    ),
    Code.MATCH_NEAR_NAME_CONTRADICTED: Spec(
        _B,
        "Nom proche, autre personne",
        "Le nom du certificat « {cn} » est proche de celui de {candidate} ({score}/100), mais "
        "l'adresse de la liste ({email}) écrit le nom de l'agent comme la liste, pas comme le "
        "certificat : ce sont sans doute deux personnes. Personne ne le reçoit.",
        "Si c'est bien le certificat de cet agent (faute dans la liste), corrigez le nom dans "
        "la liste ou indiquez-le dans le fichier de décisions (empreinte SHA-256 {sha256} → "
        "e-mail de l'agent) ; sinon retirez le fichier.",
    ),
    Code.MATCH_FILE_NAMES_OTHER_AGENT: Spec(
        _W,
        "Fichier au nom d'un autre agent",
        "Le nom du fichier désigne {file_agent}, mais le contenu du certificat (« {cn} », "
        "{content_signal}) désigne {content_agent}, à qui il est attribué : c'est le contenu "
        "que l'autorité de certification a garanti.",
        "Vérifiez que le fichier n'a pas été mal nommé ou échangé, et renommez-le ; si "
        "{file_agent_short} attendait son propre certificat, demandez-le-lui.",
    ),
    Code.MATCH_WEAKER_CANDIDATE: Spec(
        _W,
        "Certificat non retenu",
        "Ce certificat ({method}) désignait aussi {agent}, mais « {kept} » ({kept_method}) est "
        "retenu pour cet agent : un certificat reconnu par un indice plus faible ou sous une "
        "autre identité ne remplace jamais l'autre. Celui-ci n'est pas utilisé.",
        "Si ce certificat est bien celui que l'agent doit utiliser, indiquez-le dans le fichier "
        "de décisions (empreinte SHA-256 {sha256} → e-mail de l'agent).",
    ),
    Code.CERT_EXPIRED: Spec(
        _B,
        "Certificat expiré",
        "Le certificat a expiré le {not_after}.",
        "Demandez à l'agent son nouveau certificat (renouvellement auprès de l'autorité de "
        "certification).",
    ),
    Code.CERT_NOT_YET_VALID: Spec(
        _B,
        "Certificat pas encore valide",
        "Le certificat ne sera valide qu'à partir du {not_before}.",
        "Relancez le traitement à partir de cette date ou vérifiez la date du poste de l'agent.",
    ),
    Code.CERT_EXPIRES_SOON: Spec(
        _W,
        "Expiration proche",
        "Le certificat expire le {not_after} ({when}). Il est tout de même déposé.",
        "Prévenez l'agent qu'il doit commander son renouvellement.",
    ),
    Code.CERT_UNTRUSTED: Spec(
        _B,
        "Autorité non reconnue",
        "Le certificat ne remonte pas à une autorité de confiance : {reason}.",
        "Vérifiez que le certificat est un certificat RGS** (ChamberSign, Certigna…) et que le "
        "magasin de confiance (--trust) contient son autorité et ses intermédiaires.",
    ),
    Code.CERT_CHAIN_UNCHECKED: Spec(
        _B,
        "Chaîne non vérifiée",
        "Aucun magasin de confiance n'a été fourni : l'autorité du certificat n'a pas été "
        "vérifiée.",
        "Fournissez les certificats des autorités acceptées avec --trust (ou « trust » dans la "
        "configuration), ou relancez avec --skip-chain-check en connaissance de cause.",
    ),
    Code.CERT_WEAK_KEY: Spec(
        _B,
        "Clé trop faible",
        "La clé du certificat ({key}) est trop faible (minimum : {minimum}).",
        "Demandez à l'agent un certificat conforme au RGS.",
    ),
    Code.CERT_WEAK_SIGNATURE: Spec(
        _B,
        "Signature obsolète",
        "Le certificat est signé avec {algorithm}, algorithme refusé.",
        "Demandez à l'agent un certificat récent, signé en SHA-256 au moins.",
    ),
    Code.CERT_IS_CA: Spec(
        _B,
        "Certificat d'autorité",
        "Ce fichier est le certificat d'une autorité de certification ({cn}), pas celui d'un "
        "agent.",
        "Demandez à l'agent d'exporter son propre certificat, et non celui de l'autorité.",
    ),
    Code.CERT_KEY_USAGE: Spec(
        _B,
        "Usage du certificat inadapté",
        "Le certificat ne permet pas l'authentification nécessaire à S²LOW : {reason}.",
        "Demandez à l'agent son certificat d'authentification RGS** (et non un certificat de "
        "chiffrement ou de signature seule).",
    ),
    Code.CERT_ORG_MISMATCH: Spec(
        _W,
        "Organisme différent",
        "Le certificat indique l'organisme {cert_org}, la liste indique {roster_org}.",
        "Vérifiez que l'agent a bien changé de collectivité, ou qu'il s'agit d'un élu qui "
        "utilise légitimement un même certificat dans plusieurs collectivités (aucune action "
        "alors) ; sinon corrigez la liste.",
    ),
    Code.CERT_POLICY_NOT_ALLOWED: Spec(
        _B,
        "Politique de certification non acceptée",
        "Aucune des politiques du certificat ({policies}) n'est dans la liste acceptée.",
        "Demandez à l'agent un certificat du niveau RGS requis, ou complétez "
        "« allowed_policies » dans la configuration.",
    ),
    Code.CERT_REVOKED: Spec(
        _B,
        "Certificat révoqué",
        "Le certificat a été révoqué le {revoked_on} (liste de révocation de {issuer}).",
        "Demandez à l'agent son nouveau certificat.",
    ),
    Code.CERT_REVOCATION_UNKNOWN: Spec(
        _W,
        "Révocation non vérifiée",
        "L'état de révocation n'a pas pu être vérifié : {reason}.",
        "Vérifiez les listes de révocation indiquées dans la configuration.",
    ),
    Code.CERT_RENEWED: Spec(
        _I,
        "Certificat renouvelé",
        "Ce certificat remplace celui qui expirait le {old_not_after}.",
        "Aucune action nécessaire.",
    ),
    Code.MEGALIS_ACCOUNT_NOT_FOUND: Spec(
        _B,
        "Compte Mégalis introuvable",
        "Aucun compte Mégalis n'existe pour « {email} ».",
        "Créez le compte de l'agent sur Mégalis (ou relancez avec --create-missing), ou "
        "corrigez l'e-mail dans la liste.",
    ),
    Code.MEGALIS_ACCOUNT_CREATED: Spec(
        _I,
        "Compte créé",
        "Le compte Mégalis de « {email} » a été créé.",
        "Aucune action nécessaire.",
    ),
    Code.MEGALIS_REJECTED: Spec(
        _B,
        "Refusé par la plateforme",
        "La plateforme a refusé le certificat : « {message} ».",
        "Lisez le message de la plateforme ; corrigez puis relancez.",
    ),
    Code.MEGALIS_UNAVAILABLE: Spec(
        _B,
        "Plateforme indisponible",
        "La plateforme n'a pas répondu ({reason}) ; rien n'a été écrit pour cet agent.",
        "Relancez plus tard : le traitement reprendra là où il s'est arrêté.",
    ),
    Code.MEGALIS_VERIFY_FAILED: Spec(
        _B,
        "Vérification après dépôt en échec",
        "Après dépôt, la relecture du compte ne correspond pas : {problem}.",
        "Vérifiez le compte de l'agent sur Mégalis et relancez le traitement.",
    ),
    Code.MEGALIS_ACCOUNT_DISABLED: Spec(
        _B,
        "Compte Mégalis désactivé",
        "Le compte Mégalis de « {email} » est désactivé : certsync n'écrit jamais sur un compte "
        "désactivé.",
        "Si l'agent est toujours en poste, faites réactiver son compte par l'administrateur de "
        "son organisme sur Mégalis puis relancez ; sinon retirez-le de la liste des agents.",
    ),
    Code.MEGALIS_ACCOUNT_AMBIGUOUS: Spec(
        _B,
        "Plusieurs comptes Mégalis pour un e-mail",
        "Plusieurs comptes actifs ont l'adresse « {email} » sur la plateforme (identifiants "
        "{ids}) : certsync ne choisit pas à la place de l'administrateur, rien n'a été écrit.",
        "Déposez le certificat à la main sur le bon compte, ou faites désactiver ou changer "
        "l'adresse du compte en trop sur Mégalis, puis relancez.",
    ),
    Code.MEGALIS_LISTING_INCOMPLETE: Spec(
        _B,
        "Compte absent d'une liste incomplète",
        "Aucun compte « {email} » dans la liste lue sur la plateforme, mais cette liste est "
        "incomplète ({gaps}) : le compte existe peut-être, il n'a donc pas été créé.",
        "Corrigez ce qui a empêché de lire toute la liste (droits sur l'organisme ou l'entité, "
        "plateforme indisponible) puis relancez, ou créez le compte à la main.",
    ),
    Code.MEGALIS_OUTCOME_UNKNOWN: Spec(
        _B,
        "Issue inconnue",
        "Issue inconnue : le certificat a été envoyé mais le compte n'a pas pu être relu "
        "({reason}) ; il est peut-être déjà sur le compte.",
        "Relancez le traitement : il relira d'abord le compte, enregistrera le dépôt s'il a "
        "abouti et ne l'enverra pas une seconde fois.",
    ),
    Code.MEGALIS_NOT_SELECTED: Spec(
        _I,
        "Hors de la sélection",
        "Dépôt prévu mais pas fait : l'agent n'est pas dans la sélection ({options}).",
        "Relancez sans --only ni --limit (ou avec cet agent) pour déposer ce certificat.",
    ),
    Code.ONBOARD_VALUE_ADAPTED: Spec(
        _W,
        "Valeur adaptée pour l'import du socle",
        "{column} « {value} » est écrit « {written} » dans le fichier d'import ({reason}).",
        "Vérifiez l'orthographe ; après l'import, corrigez la fiche de l'agent sur le socle si "
        "besoin.",
    ),
    Code.ONBOARD_VALUE_DROPPED: Spec(
        _W,
        "Valeur laissée vide dans l'import",
        "{column} « {value} » est refusé par l'import du socle ({reason}) ; la colonne est "
        "laissée vide pour cet agent.",
        "Saisissez la valeur sur la fiche de l'agent après l'import, ou corrigez la liste.",
    ),
    Code.ONBOARD_VALUE_REFUSED: Spec(
        _B,
        "Agent hors du fichier d'import : valeur refusée",
        "{column} « {value} » est refusé par l'import du socle ({reason}) ; l'agent n'est pas "
        "dans le fichier.",
        "Créez cet agent à la main sur le socle (« Créer un agent »), ou corrigez la liste "
        "puis relancez certsync onboarding.",
    ),
    Code.ONBOARD_FIELD_MISSING: Spec(
        _B,
        "Agent hors du fichier d'import : champ obligatoire vide",
        "Le champ obligatoire {column} est vide ; l'agent n'est pas dans le fichier.",
        "Complétez la liste des agents puis relancez certsync onboarding.",
    ),
    Code.ONBOARD_NO_ORGANISATION: Spec(
        _B,
        "Agent hors du fichier d'import : organisme inconnu",
        "L'organisme de l'agent ({organisation}) n'est pas dans l'export du socle ; l'agent "
        "n'est dans aucun fichier.",
        "Ajoutez l'export de cet organisme, ou indiquez l'organisme avec --organisation.",
    ),
    Code.ONBOARD_OTHER_ORGANISATION: Spec(
        _B,
        "Agent déjà inscrit dans un autre organisme",
        "« {email} » a déjà un compte dans {organisation} ; l'import le proposerait « à créer » "
        "et la création échouerait (identifiant déjà utilisé).",
        "Vérifiez la collectivité de l'agent ; un changement d'organisme se fait à la main sur "
        "le socle.",
    ),
    Code.ONBOARD_ACCOUNT_DISABLED: Spec(
        _B,
        "Compte désactivé sur le socle",
        "« {email} » a un compte désactivé dans {organisation} ; l'import le proposerait « à "
        "créer » et la création échouerait.",
        "Réactivez le compte sur le socle, puis relancez certsync run pour son certificat.",
    ),
    Code.ONBOARD_EXISTING_REFUSED: Spec(
        _W,
        "Compte existant que l'import ne peut pas réécrire : NE PAS SUPPRIMER",
        "Le compte existant « {email} » ({name}) a une valeur que l'import du socle refuse "
        "({column} « {value} » : {reason}) ; il n'est pas dans le fichier, et le rapport du "
        "socle le listera « à supprimer ».",
        "Ne le supprimez pas : n'utilisez jamais « Tout supprimer » et ne cochez pas ce compte. "
        "Pour qu'il n'apparaisse plus, corrigez sa fiche sur le socle puis refaites l'export et "
        "certsync onboarding.",
    ),
    Code.ONBOARD_EXISTING_WOULD_CHANGE: Spec(
        _W,
        "Compte existant modifié si « Modifier des utilisateurs » est appliqué",
        "Le compte existant « {email} » est réécrit tel quel, mais appliquer « Modifier des "
        "utilisateurs » changerait : {changes}.",
        "N'appliquez pas « Modifier des utilisateurs » ni « Tout modifier » : le fichier ne "
        "sert qu'à créer les comptes manquants.",
    ),
    Code.ONBOARD_FILE_SPLIT: Spec(
        _W,
        "Organisme découpé en plusieurs fichiers",
        "{organisation} tient en {parts} fichiers (5 000 lignes ou 1 Mio au plus par "
        "fichier) : le rapport de chaque fichier listera « à supprimer » les comptes qui sont "
        "dans les autres ({to_delete} pour {file}).",
        "Importez les fichiers l'un après l'autre et ne supprimez personne : n'utilisez jamais "
        "« Tout supprimer ».",
    ),
}


class _Count(int):
    """An integer parameter: `{count:certificat|certificats}` writes it with its noun agreed."""

    def __format__(self, spec: str) -> str:
        if "|" in spec:
            one, many = spec.split("|", 1)
            return plural(int(self), one, many)
        return int.__format__(self, spec)


class _Unknown:
    """A parameter a finding lacks: shown as « ? », whatever its format."""

    def __format__(self, spec: str) -> str:
        return "?"


class _SafeDict(dict[str, object]):
    def __getitem__(self, key: str) -> object:
        value = super().__getitem__(key)
        return _Count(value) if type(value) is int else value

    def __missing__(self, key: str) -> object:
        return _Unknown()


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem or fact about a roster row or a file, as data."""

    code: Code
    """Which catalogue entry this is."""
    row: int | None = None
    """Roster row number as the administrator sees it, if the finding is about a row."""
    file: str | None = None
    """File path relative to the certificate folder, if the finding is about a file."""
    params: Mapping[str, object] = field(default_factory=dict)
    """Values for the message template."""

    @property
    def spec(self) -> Spec:
        """The catalogue entry."""
        return CATALOGUE[self.code]

    @property
    def severity(self) -> Severity:
        """Severity from the catalogue, unless the policy overrode it in params."""
        override = self.params.get("severity")
        if isinstance(override, str):
            return Severity(override)
        return self.spec.severity

    @property
    def blocking(self) -> bool:
        """True when this finding stops a push."""
        return self.severity is Severity.BLOCKING

    def message(self) -> str:
        """The French message with its parameters filled in."""
        return self.spec.message.format_map(_SafeDict(self.params))

    def action(self) -> str:
        """The French action with its parameters filled in (a stage may give a sharper one)."""
        override = self.params.get("action")
        if isinstance(override, str):
            return override
        return self.spec.action.format_map(_SafeDict(self.params))

    def at(self, *, row: int | None = None, file: str | None = None) -> Finding:
        """The same finding attached to another row or file."""
        return Finding(
            self.code,
            row if row is not None else self.row,
            file if file is not None else self.file,
            self.params,
        )


def finding(
    code: Code, *, row: int | None = None, file: str | None = None, **params: object
) -> Finding:
    """Build a finding; the short form used across stages."""
    return Finding(code, row, file, params)


def any_blocking(findings: Iterable[Finding]) -> bool:
    """True when one of the findings is blocking."""
    return any(f.blocking for f in findings)
