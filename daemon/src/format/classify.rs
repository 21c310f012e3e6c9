//! Rule-based category and job matching (the original asked an LLM for both).
//!
//! **Category.** The title is checked first and the body only when the title says nothing,
//! because titles are short and deliberate while bodies mention everything ("…followed by a
//! session…"). Within a text the first rule that fires wins, in this order:
//! 1. shortlisting: "shortlist", "shortlisted", "shortlisting", "short-listed", "short listed",
//!    "selected for (the) next round", "selected students", "list of selected";
//! 2. hackathon: "hackathon";
//! 3. webinar: "webinar", "session", "talk", "seminar", "workshop";
//! 4. job posting: "open for applications", "apply", "registration", "register",
//!    "job profile", "hiring", "job opening";
//! 5. otherwise announcement.
//!
//! Keywords match whole words (or whole phrases) of the lower-cased text with punctuation
//! turned into spaces, so "talk" does not fire on "talking" nor "apply" on "applying".
//!
//! **Job match.** Company names are normalised ([`normalise_company`]) and a job matches when
//! its normalised name occurs as whole words in the normalised title + body. The longest name
//! wins (so "Tata Consultancy Services" beats "Tata"); among equal lengths the newest job
//! (`created_at_ms`) wins, then the smaller id for determinism.

use crate::store::JobProfile;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Announcement,
    Shortlisting,
    Webinar,
    Hackathon,
    JobPosting,
}

impl Category {
    /// The stored label (the original's lower-case labels).
    pub fn label(self) -> &'static str {
        match self {
            Category::Announcement => "announcement",
            Category::Shortlisting => "shortlisting",
            Category::Webinar => "webinar",
            Category::Hackathon => "hackathon",
            Category::JobPosting => "job posting",
        }
    }
}

const RULES: &[(Category, &[&str])] = &[
    (
        Category::Shortlisting,
        &[
            "shortlist",
            "shortlisted",
            "shortlisting",
            "short listed",
            "short listing",
            "selected for next round",
            "selected for the next round",
            "selected students",
            "list of selected",
        ],
    ),
    (Category::Hackathon, &["hackathon", "hackathons"]),
    (Category::Webinar, &["webinar", "session", "talk", "seminar", "workshop"]),
    (
        Category::JobPosting,
        &[
            "open for applications",
            "open for application",
            "apply",
            "registration",
            "register",
            "job profile",
            "hiring",
            "job opening",
        ],
    ),
];

/// The category of a notice from its title and plain-text body (rules in the module docs).
pub fn classify(title: &str, body: &str) -> Category {
    for text in [title, body] {
        let text = words(text);
        for (category, keywords) in RULES {
            if keywords.iter().any(|k| text.contains(&words(k))) {
                return *category;
            }
        }
    }
    Category::Announcement
}

/// Lower-case, punctuation as spaces, single spaces, padded with a space on each side so
/// " word " finds whole words.
fn words(text: &str) -> String {
    let mut out = String::from(" ");
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        out.push_str(&word.to_lowercase());
        out.push(' ');
    }
    out
}

/// Trailing words that do not distinguish a company: legal forms, "(India)", and the
/// "Technologies"-style suffixes companies drop in speech. Only stripped from the end, and
/// never down to nothing ("Tech Mahindra" and "Technologies Inc" keep a name).
const SUFFIXES: &[&str] = &[
    "pvt",
    "private",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "llp",
    "llc",
    "corp",
    "corporation",
    "co",
    "company",
    "india",
    "technologies",
    "technology",
];

/// A company name reduced for matching: lower-case words without punctuation and without
/// trailing [`SUFFIXES`]. "Nimbus Cloud Systems Pvt. Ltd." → "nimbus cloud systems".
pub fn normalise_company(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let lowered = words(name);
    parts.extend(lowered.split_whitespace());
    while parts.len() > 1 && parts.last().is_some_and(|w| SUFFIXES.contains(w)) {
        parts.pop();
    }
    parts.join(" ")
}

/// The job a notice is about, by company name (rules in the module docs); `None` if no job's
/// company is mentioned.
pub fn match_job<'a>(title: &str, body: &str, jobs: &'a [JobProfile]) -> Option<&'a JobProfile> {
    let text = words(&format!("{title}\n{body}"));
    jobs.iter()
        .filter_map(|job| {
            let name = normalise_company(&job.company);
            // One- or two-letter names ("??", "HP" aside) match too much by accident.
            (name.chars().count() >= 2 && text.contains(&format!(" {name} ")))
                .then(|| (name.chars().count(), job))
        })
        .max_by(|(len_a, a), (len_b, b)| {
            len_a
                .cmp(len_b)
                .then(a.created_at_ms.cmp(&b.created_at_ms))
                .then(b.id.cmp(&a.id))
        })
        .map(|(_, job)| job)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, company: &str, created: Option<i64>) -> JobProfile {
        JobProfile {
            id: id.into(),
            company: company.into(),
            created_at_ms: created,
            ..JobProfile::default()
        }
    }

    #[test]
    fn categories_by_keyword() {
        let c = |t: &str| classify(t, "");
        assert_eq!(c("Shortlisted students for Acme"), Category::Shortlisting);
        assert_eq!(c("Students selected for the next round - Acme"), Category::Shortlisting);
        assert_eq!(c("Smart India Hackathon 2026"), Category::Hackathon);
        assert_eq!(c("Pre-placement talk by Acme"), Category::Webinar);
        assert_eq!(c("Webinar on resumes"), Category::Webinar);
        assert_eq!(c("Acme is hiring: open for applications"), Category::JobPosting);
        assert_eq!(c("Registration for Acme drive"), Category::JobPosting);
        assert_eq!(c("Holiday on Friday"), Category::Announcement);
    }

    #[test]
    fn whole_words_only() {
        assert_eq!(classify("Stop talking in the lab", ""), Category::Announcement);
        assert_eq!(classify("Students applying late", ""), Category::Announcement);
    }

    #[test]
    fn title_beats_body() {
        assert_eq!(
            classify("Shortlist for Acme", "the hackathon session and hiring"),
            Category::Shortlisting
        );
        assert_eq!(classify("Acme update", "Please apply by Friday"), Category::JobPosting);
    }

    #[test]
    fn normalises_company_names() {
        assert_eq!(normalise_company("Nimbus Cloud Systems Pvt. Ltd."), "nimbus cloud systems");
        assert_eq!(normalise_company("Acme (India) Private Limited"), "acme");
        assert_eq!(normalise_company("Zeta Technologies"), "zeta");
        assert_eq!(normalise_company("Tech Mahindra"), "tech mahindra");
        assert_eq!(normalise_company("Technologies Inc"), "technologies");
        assert_eq!(normalise_company("AT&T"), "at t");
    }

    #[test]
    fn matches_longest_then_newest() {
        let jobs = [
            job("1", "Tata", Some(5)),
            job("2", "Tata Consultancy Services Ltd", Some(1)),
            job("3", "Acme Pvt Ltd", Some(1)),
            job("4", "ACME Private Limited", Some(9)),
        ];
        let m = |t: &str| match_job(t, "", &jobs).map(|j| j.id.as_str());
        assert_eq!(m("Tata Consultancy Services drive"), Some("2"));
        assert_eq!(m("Tata drive"), Some("1"));
        assert_eq!(m("Acme, hiring"), Some("4"));
        assert_eq!(m("Acmeville hiring"), None);
        assert_eq!(m("Nothing here"), None);
    }

    #[test]
    fn matches_in_body() {
        let jobs = [job("1", "Nimbus Cloud Systems Pvt Ltd", None)];
        let found = match_job("Shortlist", "Students shortlisted by Nimbus Cloud Systems:", &jobs);
        assert_eq!(found.map(|j| j.id.as_str()), Some("1"));
    }
}
