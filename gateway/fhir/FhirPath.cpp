// SPDX-License-Identifier: Apache-2.0
#include "gateway/fhir/FhirPath.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gw::fhir {

namespace {

// ---- FHIR R4 type names --------------------------------------------------------------------

// Choice element suffixes (FHIR R4 "open" type list, 2.24.0.1) and the type each names.
struct ChoiceType {
  std::string_view suffix;
  std::string_view type;
};
constexpr std::array<ChoiceType, 50> kChoiceTypes = {{
    {"Base64Binary", "base64Binary"}, {"Boolean", "boolean"},
    {"Canonical", "canonical"},       {"Code", "code"},
    {"Date", "date"},                 {"DateTime", "dateTime"},
    {"Decimal", "decimal"},           {"Id", "id"},
    {"Instant", "instant"},           {"Integer", "integer"},
    {"Markdown", "markdown"},         {"Oid", "oid"},
    {"PositiveInt", "positiveInt"},   {"String", "string"},
    {"Time", "time"},                 {"UnsignedInt", "unsignedInt"},
    {"Uri", "uri"},                   {"Url", "url"},
    {"Uuid", "uuid"},                 {"Address", "Address"},
    {"Age", "Age"},                   {"Annotation", "Annotation"},
    {"Attachment", "Attachment"},     {"CodeableConcept", "CodeableConcept"},
    {"Coding", "Coding"},             {"ContactPoint", "ContactPoint"},
    {"Count", "Count"},               {"Distance", "Distance"},
    {"Duration", "Duration"},         {"HumanName", "HumanName"},
    {"Identifier", "Identifier"},     {"Money", "Money"},
    {"Period", "Period"},             {"Quantity", "Quantity"},
    {"Range", "Range"},               {"Ratio", "Ratio"},
    {"Reference", "Reference"},       {"SampledData", "SampledData"},
    {"Signature", "Signature"},       {"Timing", "Timing"},
    {"ContactDetail", "ContactDetail"}, {"Contributor", "Contributor"},
    {"DataRequirement", "DataRequirement"}, {"Expression", "Expression"},
    {"ParameterDefinition", "ParameterDefinition"}, {"RelatedArtifact", "RelatedArtifact"},
    {"TriggerDefinition", "TriggerDefinition"}, {"UsageContext", "UsageContext"},
    {"Dosage", "Dosage"},             {"Meta", "Meta"},
}};

// FHIR R4 (4.0.1) resource types.
constexpr std::string_view kResourceTypes[] = {
    "Account", "ActivityDefinition", "AdverseEvent", "AllergyIntolerance", "Appointment",
    "AppointmentResponse", "AuditEvent", "Basic", "Binary", "BiologicallyDerivedProduct",
    "BodyStructure", "Bundle", "CapabilityStatement", "CarePlan", "CareTeam", "CatalogEntry",
    "ChargeItem", "ChargeItemDefinition", "Claim", "ClaimResponse", "ClinicalImpression",
    "CodeSystem", "Communication", "CommunicationRequest", "CompartmentDefinition", "Composition",
    "ConceptMap", "Condition", "Consent", "Contract", "Coverage", "CoverageEligibilityRequest",
    "CoverageEligibilityResponse", "DetectedIssue", "Device", "DeviceDefinition", "DeviceMetric",
    "DeviceRequest", "DeviceUseStatement", "DiagnosticReport", "DocumentManifest",
    "DocumentReference", "EffectEvidenceSynthesis", "Encounter", "Endpoint", "EnrollmentRequest",
    "EnrollmentResponse", "EpisodeOfCare", "EventDefinition", "Evidence", "EvidenceVariable",
    "ExampleScenario", "ExplanationOfBenefit", "FamilyMemberHistory", "Flag", "Goal",
    "GraphDefinition", "Group", "GuidanceResponse", "HealthcareService", "ImagingStudy",
    "Immunization", "ImmunizationEvaluation", "ImmunizationRecommendation", "ImplementationGuide",
    "InsurancePlan", "Invoice", "Library", "Linkage", "List", "Location", "Measure",
    "MeasureReport", "Media", "Medication", "MedicationAdministration", "MedicationDispense",
    "MedicationKnowledge", "MedicationRequest", "MedicationStatement", "MedicinalProduct",
    "MedicinalProductAuthorization", "MedicinalProductContraindication",
    "MedicinalProductIndication", "MedicinalProductIngredient", "MedicinalProductInteraction",
    "MedicinalProductManufactured", "MedicinalProductPackaged", "MedicinalProductPharmaceutical",
    "MedicinalProductUndesirableEffect", "MessageDefinition", "MessageHeader",
    "MolecularSequence", "NamingSystem", "NutritionOrder", "Observation", "ObservationDefinition",
    "OperationDefinition", "OperationOutcome", "Organization", "OrganizationAffiliation",
    "Parameters", "Patient", "PaymentNotice", "PaymentReconciliation", "Person", "PlanDefinition",
    "Practitioner", "PractitionerRole", "Procedure", "Provenance", "Questionnaire",
    "QuestionnaireResponse", "RelatedPerson", "RequestGroup", "ResearchDefinition",
    "ResearchElementDefinition", "ResearchStudy", "ResearchSubject", "RiskAssessment",
    "RiskEvidenceSynthesis", "Schedule", "SearchParameter", "ServiceRequest", "Slot", "Specimen",
    "SpecimenDefinition", "StructureDefinition", "StructureMap", "Subscription", "Substance",
    "SubstanceNucleicAcid", "SubstancePolymer", "SubstanceProtein",
    "SubstanceReferenceInformation", "SubstanceSourceMaterial", "SubstanceSpecification",
    "SupplyDelivery", "SupplyRequest", "Task", "TerminologyCapabilities", "TestReport",
    "TestScript", "ValueSet", "VerificationResult", "VisionPrescription",
};

bool isResourceType(std::string_view name) {
  return std::find(std::begin(kResourceTypes), std::end(kResourceTypes), name) !=
         std::end(kResourceTypes);
}

bool isDataType(std::string_view name) {
  if (name == "SimpleQuantity" || name == "MoneyQuantity") {
    return true;
  }
  return std::any_of(kChoiceTypes.begin(), kChoiceTypes.end(),
                     [&](const ChoiceType& c) { return c.type == name; });
}

bool isKnownType(std::string_view name) {
  return name == "Resource" || name == "DomainResource" || isResourceType(name) ||
         isDataType(name);
}

// The type a choice element `base<Suffix>` carries, or "" when `name` is not one.
std::string_view choiceType(std::string_view name, std::string_view base) {
  if (name.size() <= base.size() || name.substr(0, base.size()) != base) {
    return std::string_view();
  }
  const std::string_view suffix = name.substr(base.size());
  for (const ChoiceType& c : kChoiceTypes) {
    if (c.suffix == suffix) {
      return c.type;
    }
  }
  return std::string_view();
}

// `actual` is `wanted` or one of its R4 specialisations.
bool typeMatches(std::string_view actual, std::string_view wanted, bool is_resource) {
  if (actual == wanted) {
    return true;
  }
  if (wanted == "Resource") {
    return is_resource;
  }
  if (wanted == "DomainResource") {
    return is_resource && actual != "Bundle" && actual != "Parameters" && actual != "Binary";
  }
  if (wanted == "Quantity") {
    return actual == "Age" || actual == "Count" || actual == "Distance" ||
           actual == "Duration" || actual == "SimpleQuantity" || actual == "MoneyQuantity";
  }
  if (wanted == "string") {
    return actual == "code" || actual == "id" || actual == "markdown";
  }
  if (wanted == "uri") {
    return actual == "url" || actual == "canonical" || actual == "oid" || actual == "uuid";
  }
  if (wanted == "integer") {
    return actual == "positiveInt" || actual == "unsignedInt";
  }
  return false;
}

// "-012.500" -> "-12.5"; nullopt unless `text` is an integer or a plain decimal.
std::optional<std::string> normalizedDecimal(std::string_view text) {
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
    negative = text[i] == '-';
    ++i;
  }
  const std::size_t int_start = i;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    ++i;
  }
  if (i == int_start) {
    return std::nullopt;
  }
  std::string_view int_part = text.substr(int_start, i - int_start);
  std::string_view frac_part;
  if (i < text.size() && text[i] == '.') {
    const std::size_t frac_start = ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    if (i == frac_start) {
      return std::nullopt;
    }
    frac_part = text.substr(frac_start, i - frac_start);
  }
  if (i != text.size()) {
    return std::nullopt;
  }
  while (int_part.size() > 1 && int_part[0] == '0') {
    int_part.remove_prefix(1);
  }
  while (!frac_part.empty() && frac_part.back() == '0') {
    frac_part.remove_suffix(1);
  }
  std::string out;
  if (negative && !(int_part == "0" && frac_part.empty())) {
    out += '-';
  }
  out += int_part;
  if (!frac_part.empty()) {
    out += '.';
    out += frac_part;
  }
  return out;
}

}  // namespace

std::string_view Item::type() const {
  switch (kind_) {
    case Kind::Node:
      return node_->isResource() ? node_->resourceType() : type_;
    case Kind::Boolean: return "boolean";
    case Kind::Integer: return "integer";
    case Kind::String: return "string";
  }
  return std::string_view();
}

// ---- compiled form -------------------------------------------------------------------------

namespace detail {

enum class Op { Focus, This, TypeHead, Member, Index, Call, Literal, Equal, NotEqual, And, Or };
enum class Fn { Where, Exists, Empty, Count, First, Last, Not, OfType, As, Resolve };

struct Expr {
  Op op = Op::Focus;
  int column = 1;
  int base = -1;  // Member/Index/Call: the input expression; -1 = the focus
  int lhs = -1;   // binary operators
  int rhs = -1;
  int arg = -1;   // where()/exists() criteria
  Fn fn = Fn::Exists;
  std::string name;         // member name, type name, or the text of a String literal
  std::int64_t number = 0;  // Index position, Integer/Boolean literal
  Item::Kind literal_kind = Item::Kind::Boolean;
};

struct Program {
  std::string text;
  std::vector<Expr> exprs;
  int root = -1;
};

}  // namespace detail

namespace {

using detail::Expr;
using detail::Fn;
using detail::Op;
using detail::Program;

Status errorAt(int column, const std::string& what) {
  return Status::invalidArgument("FHIRPath column " + std::to_string(column) + ": " + what)
      .withPosition(SourcePosition{"", 1, column});
}

// ---- tokenizer and parser ------------------------------------------------------------------

enum class Tok {
  End, Identifier, String, Integer, Dot, LBracket, RBracket, LParen, RParen, Comma, Equal,
  NotEqual, This
};

struct Token {
  Tok kind = Tok::End;
  std::string text;  // identifier name or decoded string
  std::int64_t number = 0;
  int column = 1;
  bool quoted = false;  // a `backtick` identifier (never a keyword)
};

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<std::shared_ptr<const Program>> run() {
    auto program = std::make_shared<Program>();
    program_ = program.get();
    program->text = std::string(text_);
    GW_RETURN_IF_ERROR(advance());
    if (token_.kind == Tok::End) {
      return errorAt(1, "empty expression");
    }
    GW_ASSIGN_OR_RETURN(const int root, parseOr());
    if (token_.kind != Tok::End) {
      return unexpected();
    }
    program->root = root;
    return std::shared_ptr<const Program>(std::move(program));
  }

 private:
  static bool isIdentStart(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_';
  }
  static bool isIdentPart(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  }
  int column() const { return static_cast<int>(pos_) + 1; }

  Status advance() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
    token_ = Token();
    token_.column = column();
    if (pos_ >= text_.size()) {
      token_.kind = Tok::End;
      return Status::ok();
    }
    const char c = text_[pos_];
    if (isIdentStart(c)) {
      const std::size_t start = pos_;
      while (pos_ < text_.size() && isIdentPart(text_[pos_])) {
        ++pos_;
      }
      token_.kind = Tok::Identifier;
      token_.text = std::string(text_.substr(start, pos_ - start));
      return Status::ok();
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      const std::size_t start = pos_;
      std::int64_t value = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        const int digit = text_[pos_] - '0';
        if (value > (std::numeric_limits<std::int64_t>::max() - digit) / 10) {
          return errorAt(static_cast<int>(start) + 1, "integer literal is too large");
        }
        value = value * 10 + digit;
        ++pos_;
      }
      if (pos_ + 1 < text_.size() && text_[pos_] == '.' &&
          std::isdigit(static_cast<unsigned char>(text_[pos_ + 1]))) {
        return errorAt(static_cast<int>(start) + 1, "decimal literals are not supported");
      }
      std::size_t after = pos_;
      while (after < text_.size() && text_[after] == ' ') {
        ++after;
      }
      if ((pos_ < text_.size() && isIdentStart(text_[pos_])) ||
          (after < text_.size() && text_[after] == '\'')) {
        return errorAt(static_cast<int>(start) + 1, "quantity literals are not supported");
      }
      token_.kind = Tok::Integer;
      token_.number = value;
      return Status::ok();
    }
    switch (c) {
      case '.': ++pos_; token_.kind = Tok::Dot; return Status::ok();
      case '[': ++pos_; token_.kind = Tok::LBracket; return Status::ok();
      case ']': ++pos_; token_.kind = Tok::RBracket; return Status::ok();
      case '(': ++pos_; token_.kind = Tok::LParen; return Status::ok();
      case ')': ++pos_; token_.kind = Tok::RParen; return Status::ok();
      case ',': ++pos_; token_.kind = Tok::Comma; return Status::ok();
      case '=': ++pos_; token_.kind = Tok::Equal; return Status::ok();
      case '\'': return readString();
      case '`': return readQuotedIdentifier();
      case '$': {
        const std::size_t start = pos_++;
        while (pos_ < text_.size() && isIdentPart(text_[pos_])) {
          ++pos_;
        }
        const std::string_view name = text_.substr(start, pos_ - start);
        if (name == "$this") {
          token_.kind = Tok::This;
          return Status::ok();
        }
        return errorAt(static_cast<int>(start) + 1,
                       "'" + std::string(name) + "' is not supported (only $this)");
      }
      case '!':
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '=') {
          pos_ += 2;
          token_.kind = Tok::NotEqual;
          return Status::ok();
        }
        return errorAt(column(), "operator '!~' is not supported");
      case '%': return errorAt(column(), "environment variables (%name) are not supported");
      case '@': return errorAt(column(), "date/time literals are not supported");
      case '{': return errorAt(column(), "collection literals are not supported");
      case '"': return errorAt(column(), "strings are written in single quotes");
      case '/':
        if (pos_ + 1 < text_.size() && (text_[pos_ + 1] == '/' || text_[pos_ + 1] == '*')) {
          return errorAt(column(), "comments are not supported");
        }
        return errorAt(column(), "operator '/' is not supported");
      case '|': case '+': case '-': case '*': case '&': case '~':
        return errorAt(column(), std::string("operator '") + c + "' is not supported");
      case '<': case '>': {
        std::string op(1, c);
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '=') {
          op += '=';
        }
        return errorAt(column(), "operator '" + op + "' is not supported");
      }
      default:
        return errorAt(column(), "unexpected character");
    }
  }

  Status readString() {
    const int start_column = column();
    ++pos_;
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) {
        return errorAt(start_column, "unterminated string literal");
      }
      const char c = text_[pos_++];
      if (c == '\'') {
        break;
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) {
        return errorAt(start_column, "unterminated string literal");
      }
      const char e = text_[pos_++];
      switch (e) {
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '`': out += '`'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          if (pos_ + 4 > text_.size()) {
            return errorAt(static_cast<int>(pos_) - 1, "invalid \\u escape");
          }
          unsigned code = 0;
          for (int k = 0; k < 4; ++k) {
            const char h = text_[pos_++];
            code <<= 4;
            if (h >= '0' && h <= '9') {
              code |= static_cast<unsigned>(h - '0');
            } else if (h >= 'a' && h <= 'f') {
              code |= static_cast<unsigned>(h - 'a' + 10);
            } else if (h >= 'A' && h <= 'F') {
              code |= static_cast<unsigned>(h - 'A' + 10);
            } else {
              return errorAt(static_cast<int>(pos_), "invalid \\u escape");
            }
          }
          if (code >= 0xD800 && code <= 0xDFFF) {
            return errorAt(static_cast<int>(pos_) - 5, "surrogate \\u escapes are not supported");
          }
          if (code < 0x80) {
            out += static_cast<char>(code);
          } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
          }
          break;
        }
        default:
          return errorAt(static_cast<int>(pos_) - 1, "invalid escape in string literal");
      }
    }
    token_.kind = Tok::String;
    token_.text = std::move(out);
    return Status::ok();
  }

  Status readQuotedIdentifier() {
    const int start_column = column();
    const std::size_t end = text_.find('`', pos_ + 1);
    if (end == std::string_view::npos) {
      return errorAt(start_column, "unterminated `identifier`");
    }
    token_.kind = Tok::Identifier;
    token_.quoted = true;
    token_.text = std::string(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    if (token_.text.empty()) {
      return errorAt(start_column, "empty `identifier`");
    }
    return Status::ok();
  }

  bool isKeyword(std::string_view word) const {
    return token_.kind == Tok::Identifier && !token_.quoted && token_.text == word;
  }

  Status unexpected() const {
    if (token_.kind == Tok::Identifier && !token_.quoted) {
      static constexpr std::string_view kOperators[] = {"xor", "implies", "is",  "as",
                                                        "in",  "contains", "div", "mod"};
      for (const std::string_view op : kOperators) {
        if (token_.text == op) {
          return errorAt(token_.column, "operator '" + token_.text + "' is not supported");
        }
      }
    }
    switch (token_.kind) {
      case Tok::End: return errorAt(token_.column, "unexpected end of expression");
      case Tok::RParen: return errorAt(token_.column, "unexpected ')'");
      case Tok::RBracket: return errorAt(token_.column, "unexpected ']'");
      case Tok::Comma: return errorAt(token_.column, "unexpected ','");
      default: return errorAt(token_.column, "unexpected token");
    }
  }

  int add(Expr expr) {
    program_->exprs.push_back(std::move(expr));
    return static_cast<int>(program_->exprs.size()) - 1;
  }

  // Parentheses and function arguments nest; the recursive descent is bounded here.
  static constexpr int kMaxNesting = 32;

  Result<int> parseOr() {
    if (++nesting_ > kMaxNesting) {
      return errorAt(token_.column, "expression nested more than " +
                                        std::to_string(kMaxNesting) + " levels deep");
    }
    GW_ASSIGN_OR_RETURN(int lhs, parseAnd());
    while (isKeyword("or")) {
      Expr e;
      e.op = Op::Or;
      e.column = token_.column;
      GW_RETURN_IF_ERROR(advance());
      GW_ASSIGN_OR_RETURN(const int rhs, parseAnd());
      e.lhs = lhs;
      e.rhs = rhs;
      lhs = add(std::move(e));
    }
    --nesting_;
    return lhs;
  }

  Result<int> parseAnd() {
    GW_ASSIGN_OR_RETURN(int lhs, parseEquality());
    while (isKeyword("and")) {
      Expr e;
      e.op = Op::And;
      e.column = token_.column;
      GW_RETURN_IF_ERROR(advance());
      GW_ASSIGN_OR_RETURN(const int rhs, parseEquality());
      e.lhs = lhs;
      e.rhs = rhs;
      lhs = add(std::move(e));
    }
    return lhs;
  }

  Result<int> parseEquality() {
    GW_ASSIGN_OR_RETURN(int lhs, parsePath());
    while (token_.kind == Tok::Equal || token_.kind == Tok::NotEqual) {
      Expr e;
      e.op = token_.kind == Tok::Equal ? Op::Equal : Op::NotEqual;
      e.column = token_.column;
      GW_RETURN_IF_ERROR(advance());
      GW_ASSIGN_OR_RETURN(const int rhs, parsePath());
      e.lhs = lhs;
      e.rhs = rhs;
      lhs = add(std::move(e));
    }
    if (token_.kind != Tok::End && token_.kind != Tok::RParen && token_.kind != Tok::Comma &&
        !isKeyword("and") && !isKeyword("or")) {
      return unexpected();
    }
    return lhs;
  }

  // term ( '.' invocation | '[' integer ']' )*
  Result<int> parsePath() {
    GW_ASSIGN_OR_RETURN(int current, parseTerm());
    while (true) {
      if (token_.kind == Tok::Dot) {
        GW_RETURN_IF_ERROR(advance());
        if (token_.kind != Tok::Identifier) {
          return errorAt(token_.column, "expected a name or function after '.'");
        }
        GW_ASSIGN_OR_RETURN(current, parseInvocation(current, false));
        continue;
      }
      if (token_.kind == Tok::LBracket) {
        Expr e;
        e.op = Op::Index;
        e.column = token_.column;
        GW_RETURN_IF_ERROR(advance());
        if (token_.kind != Tok::Integer) {
          return errorAt(token_.column, "an index must be an integer literal");
        }
        e.number = token_.number;
        GW_RETURN_IF_ERROR(advance());
        if (token_.kind != Tok::RBracket) {
          return errorAt(token_.column, "expected ']'");
        }
        GW_RETURN_IF_ERROR(advance());
        e.base = current;
        current = add(std::move(e));
        continue;
      }
      return current;
    }
  }

  Result<int> parseTerm() {
    Expr e;
    e.column = token_.column;
    switch (token_.kind) {
      case Tok::LParen: {
        GW_RETURN_IF_ERROR(advance());
        GW_ASSIGN_OR_RETURN(const int inner, parseOr());
        if (token_.kind != Tok::RParen) {
          return errorAt(token_.column, "expected ')'");
        }
        GW_RETURN_IF_ERROR(advance());
        return inner;
      }
      case Tok::String:
        e.op = Op::Literal;
        e.literal_kind = Item::Kind::String;
        e.name = token_.text;
        GW_RETURN_IF_ERROR(advance());
        return add(std::move(e));
      case Tok::Integer:
        e.op = Op::Literal;
        e.literal_kind = Item::Kind::Integer;
        e.number = token_.number;
        GW_RETURN_IF_ERROR(advance());
        return add(std::move(e));
      case Tok::This:
        e.op = Op::This;
        GW_RETURN_IF_ERROR(advance());
        return add(std::move(e));
      case Tok::Identifier:
        if (isKeyword("true") || isKeyword("false")) {
          e.op = Op::Literal;
          e.literal_kind = Item::Kind::Boolean;
          e.number = isKeyword("true") ? 1 : 0;
          GW_RETURN_IF_ERROR(advance());
          return add(std::move(e));
        }
        return parseInvocation(-1, true);
      default:
        return unexpected();
    }
  }

  // name | function '(' args ')' applied to `base` (-1: the focus).
  Result<int> parseInvocation(int base, bool head) {
    Expr e;
    e.column = token_.column;
    e.base = base;
    const std::string name = token_.text;
    const bool quoted = token_.quoted;
    GW_RETURN_IF_ERROR(advance());
    if (token_.kind == Tok::LParen && !quoted) {
      return parseCall(std::move(e), name);
    }
    if (!quoted && std::isupper(static_cast<unsigned char>(name[0]))) {
      if (!head) {
        return errorAt(e.column, "'" + name +
                                     "': element names start with a lower-case letter (use "
                                     "ofType(" + name + ") to filter by type)");
      }
      if (!isKnownType(name)) {
        return errorAt(e.column, "unknown type '" + name + "'");
      }
      e.op = Op::TypeHead;
      e.name = name;
      return add(std::move(e));
    }
    e.op = Op::Member;
    e.name = name;
    return add(std::move(e));
  }

  Result<int> parseCall(Expr e, const std::string& name) {
    struct Known {
      std::string_view name;
      Fn fn;
      int min_args;
      int max_args;
    };
    static constexpr Known kFunctions[] = {
        {"where", Fn::Where, 1, 1},   {"exists", Fn::Exists, 0, 1}, {"empty", Fn::Empty, 0, 0},
        {"count", Fn::Count, 0, 0},   {"first", Fn::First, 0, 0},   {"last", Fn::Last, 0, 0},
        {"not", Fn::Not, 0, 0},       {"ofType", Fn::OfType, 1, 1}, {"as", Fn::As, 1, 1},
        {"resolve", Fn::Resolve, 0, 0},
    };
    const Known* known = nullptr;
    for (const Known& k : kFunctions) {
      if (k.name == name) {
        known = &k;
      }
    }
    if (known == nullptr) {
      return errorAt(e.column, "function '" + name + "' is not supported");
    }
    e.op = Op::Call;
    e.fn = known->fn;
    GW_RETURN_IF_ERROR(advance());  // '('
    int args = 0;
    if (token_.kind != Tok::RParen) {
      if (known->max_args == 0) {
        return errorAt(token_.column, name + "() takes no arguments");
      }
      if (known->fn == Fn::OfType || known->fn == Fn::As) {
        GW_ASSIGN_OR_RETURN(e.name, parseTypeSpecifier(name));
      } else {
        GW_ASSIGN_OR_RETURN(e.arg, parseOr());
      }
      args = 1;
      if (token_.kind == Tok::Comma) {
        return errorAt(token_.column, name + "() takes one argument");
      }
      if (token_.kind != Tok::RParen) {
        return errorAt(token_.column, "expected ')'");
      }
    }
    if (args < known->min_args) {
      return errorAt(token_.column, name + "() needs an argument");
    }
    GW_RETURN_IF_ERROR(advance());  // ')'
    return add(std::move(e));
  }

  // Type or FHIR.Type.
  Result<std::string> parseTypeSpecifier(const std::string& function) {
    const int type_column = token_.column;
    if (token_.kind != Tok::Identifier) {
      return errorAt(type_column, function + "() needs a type name");
    }
    std::string type = token_.text;
    GW_RETURN_IF_ERROR(advance());
    if (token_.kind == Tok::Dot) {
      if (type != "FHIR") {
        return errorAt(type_column, "only FHIR types are supported, not '" + type + "'");
      }
      GW_RETURN_IF_ERROR(advance());
      if (token_.kind != Tok::Identifier) {
        return errorAt(token_.column, function + "() needs a type name");
      }
      type = token_.text;
      GW_RETURN_IF_ERROR(advance());
    }
    if (!isKnownType(type)) {
      return errorAt(type_column, "unknown or unsupported type '" + type + "' in " + function +
                                      "() (resource types, Resource, DomainResource and choice "
                                      "data types are supported)");
    }
    return type;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  Token token_;
  Program* program_ = nullptr;
  int nesting_ = 0;
};

// ---- evaluation ----------------------------------------------------------------------------

class Evaluator {
 public:
  Evaluator(const Program& program, const EvalContext& context)
      : program_(program), context_(context) {}

  Result<Collection> eval(int index, const Collection& focus, const Item& self) const {
    const Expr& e = program_.exprs[static_cast<std::size_t>(index)];
    switch (e.op) {
      case Op::Focus:
        return focus;
      case Op::This:
        return Collection{self};
      case Op::Literal:
        switch (e.literal_kind) {
          case Item::Kind::String: return Collection{Item::string(e.name)};
          case Item::Kind::Integer: return Collection{Item::integer(e.number)};
          default: return Collection{Item::boolean(e.number != 0)};
        }
      case Op::TypeHead: {
        GW_ASSIGN_OR_RETURN(const Collection input, inputOf(e, focus, self));
        Collection out;
        for (const Item& item : input) {
          if (item.kind() == Item::Kind::Node && item.node()->isResource() &&
              typeMatches(item.node()->resourceType(), e.name, true)) {
            out.push_back(item);
          }
        }
        return out;
      }
      case Op::Member: {
        GW_ASSIGN_OR_RETURN(const Collection input, inputOf(e, focus, self));
        return member(input, e.name);
      }
      case Op::Index: {
        GW_ASSIGN_OR_RETURN(const Collection input, inputOf(e, focus, self));
        if (e.number >= 0 && static_cast<std::uint64_t>(e.number) < input.size()) {
          return Collection{input[static_cast<std::size_t>(e.number)]};
        }
        return Collection{};
      }
      case Op::Call:
        return call(e, focus, self);
      case Op::Equal:
      case Op::NotEqual:
        return equality(e, focus, self);
      case Op::And:
      case Op::Or:
        return logic(e, focus, self);
    }
    return errorAt(e.column, "internal error: unknown expression");
  }

 private:
  Result<Collection> inputOf(const Expr& e, const Collection& focus, const Item& self) const {
    if (e.base < 0) {
      return focus;
    }
    return eval(e.base, focus, self);
  }

  static Collection member(const Collection& input, std::string_view name) {
    Collection out;
    for (const Item& item : input) {
      if (item.kind() != Item::Kind::Node) {
        continue;
      }
      for (const Node& child : item.node()->children()) {
        if (child.name() == name) {
          out.push_back(Item::node(child));
        } else {
          const std::string_view type = choiceType(child.name(), name);
          if (!type.empty()) {
            out.push_back(Item::node(child, type));
          }
        }
      }
    }
    return out;
  }

  // FHIRPath singleton evaluation of a collection as a Boolean.
  static Result<std::optional<bool>> asBoolean(const Collection& c, int column,
                                               std::string_view what) {
    if (c.empty()) {
      return std::optional<bool>();
    }
    if (c.size() > 1) {
      return errorAt(column, std::string(what) + " needs a single item, got " +
                                 std::to_string(c.size()));
    }
    const Item& item = c.front();
    if (item.kind() == Item::Kind::Boolean) {
      return std::optional<bool>(item.booleanValue());
    }
    if (item.kind() == Item::Kind::Node && item.node()->hasValue()) {
      if (item.node()->value() == "true") {
        return std::optional<bool>(true);
      }
      if (item.node()->value() == "false") {
        return std::optional<bool>(false);
      }
    }
    return std::optional<bool>(true);
  }

  Result<Collection> call(const Expr& e, const Collection& focus, const Item& self) const {
    GW_ASSIGN_OR_RETURN(const Collection input, inputOf(e, focus, self));
    switch (e.fn) {
      case Fn::Where:
      case Fn::Exists: {
        if (e.arg < 0) {  // exists()
          return Collection{Item::boolean(!input.empty())};
        }
        Collection out;
        for (const Item& item : input) {
          const Collection one{item};
          GW_ASSIGN_OR_RETURN(const Collection result, eval(e.arg, one, item));
          GW_ASSIGN_OR_RETURN(const std::optional<bool> keep,
                              asBoolean(result, e.column,
                                        e.fn == Fn::Where ? "where() criteria"
                                                          : "exists() criteria"));
          if (keep.value_or(false)) {
            if (e.fn == Fn::Exists) {
              return Collection{Item::boolean(true)};
            }
            out.push_back(item);
          }
        }
        if (e.fn == Fn::Exists) {
          return Collection{Item::boolean(false)};
        }
        return out;
      }
      case Fn::Empty:
        return Collection{Item::boolean(input.empty())};
      case Fn::Count:
        return Collection{Item::integer(static_cast<std::int64_t>(input.size()))};
      case Fn::First:
        return input.empty() ? Collection{} : Collection{input.front()};
      case Fn::Last:
        return input.empty() ? Collection{} : Collection{input.back()};
      case Fn::Not: {
        GW_ASSIGN_OR_RETURN(const std::optional<bool> value, asBoolean(input, e.column, "not()"));
        if (!value) {
          return Collection{};
        }
        return Collection{Item::boolean(!*value)};
      }
      case Fn::OfType:
      case Fn::As: {
        const char* function = e.fn == Fn::OfType ? "ofType()" : "as()";
        if (e.fn == Fn::As && input.size() > 1) {
          return errorAt(e.column, "as() needs at most one item, got " +
                                       std::to_string(input.size()) + " (use ofType())");
        }
        Collection out;
        for (const Item& item : input) {
          const std::string_view type = item.type();
          if (type.empty()) {
            return errorAt(e.column, std::string(function) + ": the type of " +
                                         item.node()->path() +
                                         " is not known (only resources and choice elements "
                                         "reached through their base name carry a type)");
          }
          const bool is_resource = item.kind() == Item::Kind::Node && item.node()->isResource();
          if (typeMatches(type, e.name, is_resource)) {
            out.push_back(item);
          }
        }
        return out;
      }
      case Fn::Resolve: {
        if (context_.resource == nullptr) {
          return errorAt(e.column, "resolve() needs the Resource in the EvalContext");
        }
        Collection out;
        for (const Item& item : input) {
          if (item.kind() != Item::Kind::Node) {
            continue;
          }
          const Node* node = item.node();
          const std::string_view reference =
              node->hasValue() ? node->value() : node->childValue("reference");
          if (const Node* target = context_.resource->resolve(reference, node)) {
            out.push_back(Item::node(*target));
          }
        }
        return out;
      }
    }
    return errorAt(e.column, "internal error: unknown function");
  }

  static bool itemsEqual(const Item& a, const Item& b) {
    using Kind = Item::Kind;
    if (a.kind() == Kind::Node && b.kind() == Kind::Node) {
      const Node& x = *a.node();
      const Node& y = *b.node();
      if (x.hasValue() || y.hasValue()) {
        return x.hasValue() && y.hasValue() && x.value() == y.value();
      }
      return equivalent(x, y);
    }
    if (b.kind() == Kind::Node) {
      return itemsEqual(b, a);
    }
    if (a.kind() == Kind::Node) {
      if (!a.node()->hasValue()) {
        return false;
      }
      const std::string_view text = a.node()->value();
      switch (b.kind()) {
        case Kind::String: return text == b.stringValue();
        case Kind::Boolean: return text == (b.booleanValue() ? "true" : "false");
        case Kind::Integer: {
          const std::optional<std::string> lhs = normalizedDecimal(text);
          return lhs && *lhs == std::to_string(b.integerValue());
        }
        case Kind::Node: break;
      }
      return false;
    }
    if (a.kind() != b.kind()) {
      return false;
    }
    switch (a.kind()) {
      case Kind::String: return a.stringValue() == b.stringValue();
      case Kind::Boolean: return a.booleanValue() == b.booleanValue();
      case Kind::Integer: return a.integerValue() == b.integerValue();
      case Kind::Node: break;
    }
    return false;
  }

  Result<Collection> equality(const Expr& e, const Collection& focus, const Item& self) const {
    GW_ASSIGN_OR_RETURN(const Collection lhs, eval(e.lhs, focus, self));
    GW_ASSIGN_OR_RETURN(const Collection rhs, eval(e.rhs, focus, self));
    if (lhs.empty() || rhs.empty()) {
      return Collection{};
    }
    bool equal = lhs.size() == rhs.size();
    for (std::size_t i = 0; equal && i < lhs.size(); ++i) {
      equal = itemsEqual(lhs[i], rhs[i]);
    }
    return Collection{Item::boolean(e.op == Op::Equal ? equal : !equal)};
  }

  Result<Collection> logic(const Expr& e, const Collection& focus, const Item& self) const {
    const char* what = e.op == Op::And ? "'and'" : "'or'";
    GW_ASSIGN_OR_RETURN(const Collection lhs_items, eval(e.lhs, focus, self));
    GW_ASSIGN_OR_RETURN(const std::optional<bool> lhs, asBoolean(lhs_items, e.column, what));
    GW_ASSIGN_OR_RETURN(const Collection rhs_items, eval(e.rhs, focus, self));
    GW_ASSIGN_OR_RETURN(const std::optional<bool> rhs, asBoolean(rhs_items, e.column, what));
    if (e.op == Op::And) {
      if ((lhs && !*lhs) || (rhs && !*rhs)) {
        return Collection{Item::boolean(false)};
      }
      if (lhs && rhs) {
        return Collection{Item::boolean(true)};
      }
      return Collection{};
    }
    if ((lhs && *lhs) || (rhs && *rhs)) {
      return Collection{Item::boolean(true)};
    }
    if (lhs && rhs) {
      return Collection{Item::boolean(false)};
    }
    return Collection{};
  }

  const Program& program_;
  const EvalContext& context_;
};

// First value in document order at or below `node`.
const Node* firstValue(const Node& node) {
  if (node.hasValue()) {
    return &node;
  }
  for (const Node& child : node.children()) {
    if (const Node* found = firstValue(child)) {
      return found;
    }
  }
  return nullptr;
}

}  // namespace

// ---- FhirPath ------------------------------------------------------------------------------

Result<FhirPath> FhirPath::compile(std::string_view text) {
  Parser parser(text);
  GW_ASSIGN_OR_RETURN(std::shared_ptr<const Program> program, parser.run());
  return FhirPath(std::move(program));
}

const std::string& FhirPath::text() const { return program_->text; }

Result<Collection> FhirPath::evaluate(const Node& context, const EvalContext& eval) const {
  const Item self = Item::node(context);
  const Collection focus{self};
  return Evaluator(*program_, eval).eval(program_->root, focus, self);
}

Result<Collection> FhirPath::evaluate(const Resource& resource) const {
  EvalContext eval;
  eval.resource = &resource;
  return evaluate(resource.root(), eval);
}

Result<std::vector<const Node*>> FhirPath::select(const Node& context,
                                                  const EvalContext& eval) const {
  GW_ASSIGN_OR_RETURN(const Collection items, evaluate(context, eval));
  std::vector<const Node*> nodes;
  nodes.reserve(items.size());
  for (const Item& item : items) {
    if (item.kind() != Item::Kind::Node) {
      return Status::invalidArgument("FHIRPath '" + program_->text + "' yields a " +
                                     std::string(item.type()) + ", not elements");
    }
    nodes.push_back(item.node());
  }
  return nodes;
}

Result<std::string> FhirPath::evaluateText(const Node& context, const EvalContext& eval) const {
  GW_ASSIGN_OR_RETURN(const Collection items, evaluate(context, eval));
  return toText(items);
}

Result<std::optional<bool>> FhirPath::evaluateBoolean(const Node& context,
                                                      const EvalContext& eval) const {
  GW_ASSIGN_OR_RETURN(const Collection items, evaluate(context, eval));
  if (items.size() > 1) {
    return Status::invalidArgument("FHIRPath '" + program_->text +
                                   "' needs a single item to be a boolean, got " +
                                   std::to_string(items.size()));
  }
  if (items.empty()) {
    return std::optional<bool>();
  }
  const Item& item = items.front();
  if (item.kind() == Item::Kind::Boolean) {
    return std::optional<bool>(item.booleanValue());
  }
  if (item.kind() == Item::Kind::Node && item.node()->hasValue() &&
      (item.node()->value() == "true" || item.node()->value() == "false")) {
    return std::optional<bool>(item.node()->value() == "true");
  }
  return std::optional<bool>(true);
}

Result<std::vector<const Node*>> evaluate(std::string_view path, const Node& context,
                                          const EvalContext& eval) {
  GW_ASSIGN_OR_RETURN(const FhirPath compiled, FhirPath::compile(path));
  return compiled.select(context, eval);
}

std::string toText(const Item& item) {
  switch (item.kind()) {
    case Item::Kind::Node: {
      const Node* value = firstValue(*item.node());
      return value == nullptr ? std::string() : std::string(value->value());
    }
    case Item::Kind::Boolean: return item.booleanValue() ? "true" : "false";
    case Item::Kind::Integer: return std::to_string(item.integerValue());
    case Item::Kind::String: return std::string(item.stringValue());
  }
  return std::string();
}

std::string toText(const Collection& items) {
  return items.empty() ? std::string() : toText(items.front());
}

}  // namespace gw::fhir
