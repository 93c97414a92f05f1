//! `value_type: number`, as Go's `strconv.ParseFloat` reads the value and sjson writes it
//! (`FormatFloat(v, 'f', -1, 64)`: the shortest digits that read back the same, never with an
//! exponent). serde_json does the float work (its code is in the module anyway; Rust's own
//! float formatting would add some 15 KiB).

/// The JSON text of number `text`, or `None` when it is not a finite decimal number. Go's
/// spellings are accepted: a leading `+`, leading zeros, `.5`, `5.`.
pub fn normalize(text: &str) -> Option<String> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (unsigned.get(..at)?, Some(unsigned.get(at + 1..)?)),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    let mut json = String::from(if negative { "-" } else { "" });
    json.push_str(match int.trim_start_matches('0') {
        "" => "0",
        trimmed => trimmed,
    });
    if !frac.is_empty() {
        json.push('.');
        json.push_str(frac);
    }
    if let Some(exponent) = exponent {
        json.push('e');
        json.push_str(exponent);
    }
    // Out of range (`1e400`) is an error, as in Go.
    let value: f64 = serde_json::from_str(&json).ok()?;
    plain(&serde_json::to_string(&value).ok()?)
}

/// serde_json's shortest form (`10.0`, `1e21`, `1.5e-7`) without an exponent or a `.0`.
fn plain(shortest: &str) -> Option<String> {
    let (negative, unsigned) = match shortest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, shortest),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (unsigned.get(..at)?, unsigned.get(at + 1..)?.trim_start_matches('+').parse::<i32>().ok()?),
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    // Where the decimal point goes in `digits`.
    let point = i32::try_from(int.len()).ok()?.checked_add(exponent)?;
    let mut out = String::from(if negative { "-" } else { "" });
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', usize::try_from(-point).ok()?));
        out.push_str(&digits);
    } else {
        let point = usize::try_from(point).ok()?;
        match digits.get(..point) {
            Some(whole) => {
                out.push_str(whole);
                out.push('.');
                out.push_str(digits.get(point..)?);
            }
            None => {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', point - digits.len()));
            }
        }
    }
    if out.contains('.') {
        let trimmed = out.trim_end_matches('0').trim_end_matches('.').len();
        out.truncate(trimmed);
    }
    // Leading zeros of the integer part (`010` from `0.1e2`).
    let sign = usize::from(negative);
    while out.get(sign..sign + 2).is_some_and(|two| two.starts_with('0') && two != "0.") {
        out.remove(sign);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_go_formats_them() {
        for (text, go) in [
            ("10", "10"),
            ("1.50", "1.5"),
            ("1e3", "1000"),
            ("+5", "5"),
            (".5", "0.5"),
            ("5.", "5"),
            ("007", "7"),
            ("-0", "-0"),
            ("0", "0"),
            ("1e21", "1000000000000000000000"),
            ("1.5e-7", "0.00000015"),
            ("123456789.125", "123456789.125"),
            ("0.1e2", "10"),
            ("-2.5E+2", "-250"),
            ("0.000001", "0.000001"),
            ("1e-300", &format!("0.{}1", "0".repeat(299))),
        ] {
            assert_eq!(normalize(text).as_deref(), Some(go), "{text}");
        }
        for bad in ["", "ten", "1e400", "NaN", "inf", "1,5", "1e", ".", "+", "--1", "0x10", " 1"] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }
}
