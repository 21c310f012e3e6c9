//! Package (CTC) formatting as the original showed it (reference 10.3).

use super::{html::portal_to_telegram, plain::html_to_plain};

/// `₹8.5 LPA` for amounts of a lakh or more (`LPM` when `annum_months` starts with "m"),
/// `₹45,000` / `₹12,345.50` (Indian grouping) below, "Not specified" when missing or not a
/// positive finite number.
pub fn format_package(amount: Option<f64>, annum_months: Option<&str>) -> String {
    let Some(amount) = amount.filter(|a| a.is_finite() && *a > 0.0) else {
        return "Not specified".to_owned();
    };
    let monthly = annum_months.is_some_and(|m| m.trim_start().starts_with(['m', 'M']));
    if amount >= 100_000.0 {
        let unit = if monthly { "LPM" } else { "LPA" };
        return format!("₹{:.1} {unit}", amount / 100_000.0);
    }
    let paise = (amount * 100.0).round() as u64;
    let (rupees, fraction) = (paise / 100, paise % 100);
    let grouped = indian_grouping(rupees);
    if fraction == 0 { format!("₹{grouped}") } else { format!("₹{grouped}.{fraction:02}") }
}

/// 1234567 → "12,34,567": the last three digits, then groups of two.
fn indian_grouping(n: u64) -> String {
    let digits = n.to_string();
    if digits.len() <= 3 {
        return digits;
    }
    let (head, tail) = digits.split_at(digits.len() - 3);
    let mut groups: Vec<&str> = Vec::new();
    let mut end = head.len();
    while end > 0 {
        let start = end.saturating_sub(2);
        groups.push(&head[start..end]);
        end = start;
    }
    groups.reverse();
    format!("{},{tail}", groups.join(","))
}

/// The job's `package_info` HTML flattened to lines (table rows as "cell | cell"), wrapped as
/// the original stored it: "(" newline lines newline ")". `None` when there is no text.
pub fn package_breakdown(package_info: &str) -> Option<String> {
    let plain = html_to_plain(&portal_to_telegram(package_info));
    let lines: Vec<&str> = plain.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    (!lines.is_empty()).then(|| format!("(\n{}\n)", lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lakhs_per_annum_and_month() {
        assert_eq!(format_package(Some(850_000.0), None), "₹8.5 LPA");
        assert_eq!(format_package(Some(850_000.0), Some("annum")), "₹8.5 LPA");
        assert_eq!(format_package(Some(100_000.0), Some("Monthly")), "₹1.0 LPM");
        assert_eq!(format_package(Some(1_234_567.0), Some("month")), "₹12.3 LPM");
    }

    #[test]
    fn small_amounts_grouped() {
        assert_eq!(format_package(Some(45_000.0), Some("monthly")), "₹45,000");
        assert_eq!(format_package(Some(99_999.0), None), "₹99,999");
        assert_eq!(format_package(Some(12_345.5), None), "₹12,345.50");
        assert_eq!(format_package(Some(999.0), None), "₹999");
        assert_eq!(indian_grouping(1_234_567), "12,34,567");
        assert_eq!(indian_grouping(1000), "1,000");
    }

    #[test]
    fn missing_package() {
        assert_eq!(format_package(None, None), "Not specified");
        assert_eq!(format_package(Some(0.0), None), "Not specified");
        assert_eq!(format_package(Some(f64::NAN), None), "Not specified");
    }

    #[test]
    fn breakdown_from_table_and_paragraphs() {
        let html = "<table><tr><td>Fixed</td><td>₹7,00,000</td></tr>\
                    <tr><td>Joining Bonus</td><td>₹1,50,000</td></tr></table><p>Subject to T&amp;C</p>";
        assert_eq!(
            package_breakdown(html).as_deref(),
            Some("(\nFixed | ₹7,00,000\nJoining Bonus | ₹1,50,000\nSubject to T&C\n)")
        );
        assert_eq!(package_breakdown("<p> </p>"), None);
    }
}
