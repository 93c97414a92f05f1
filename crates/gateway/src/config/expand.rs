//! `${VAR}` and `${VAR:-default}` substitution, so one configuration serves several setups.

/// Replaces `${VAR}` (an error when unset) and `${VAR:-default}`; `$$` is a literal `$`.
pub fn env_vars(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let Some(body) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let end = body.find('}').ok_or_else(|| "unterminated `${`".to_string())?;
        let expr = &body[..end];
        let (name, default) = match expr.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (expr, None),
        };
        match (std::env::var(name), default) {
            (Ok(value), _) if !value.is_empty() => out.push_str(&value),
            (_, Some(default)) => out.push_str(default),
            _ => return Err(format!("environment variable `{name}` is not set (use `${{{name}:-default}}`)")),
        }
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution() {
        std::env::set_var("HGW_TEST_VAR", "x");
        assert_eq!(env_vars("a ${HGW_TEST_VAR} b").unwrap(), "a x b");
        assert_eq!(env_vars("${HGW_UNSET_VAR:-127.0.0.1:80}").unwrap(), "127.0.0.1:80");
        assert_eq!(env_vars("cost: $$5 $x").unwrap(), "cost: $5 $x");
        assert!(env_vars("${HGW_UNSET_VAR}").unwrap_err().contains("HGW_UNSET_VAR"));
        assert!(env_vars("${oops").is_err());
    }
}
