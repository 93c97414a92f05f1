use core::fmt;

/// A configuration error: the path of the offending field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    path: String,
    message: String,
}

impl ConfigError {
    /// An error about the config as a whole.
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError { path: String::new(), message: message.into() }
    }

    /// An error about the field at `path` (`consumers[1].credential`).
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError { path: path.into(), message: message.into() }
    }

    /// The same error seen from a container: `prefix` is prepended to the path.
    pub fn within(mut self, prefix: &str) -> Self {
        self.path = match (prefix.is_empty(), self.path.is_empty()) {
            (true, _) => self.path,
            (false, true) => prefix.to_string(),
            (false, false) if self.path.starts_with('[') => format!("{prefix}{}", self.path),
            (false, false) => format!("{prefix}.{}", self.path),
        };
        self
    }

    /// Path of the offending field; empty for the config as a whole.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_prefixes_paths() {
        assert_eq!(ConfigError::at("a.b", "bad").within("_rules_[2]").path(), "_rules_[2].a.b");
        assert_eq!(ConfigError::at("[3]", "bad").within("keys").path(), "keys[3]");
        assert_eq!(ConfigError::new("bad").within("_rules_[0]").path(), "_rules_[0]");
        assert_eq!(ConfigError::at("x", "bad").within("").path(), "x");
        assert_eq!(ConfigError::new("whole").to_string(), "whole");
    }
}
