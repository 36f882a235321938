//! A token kept in a file by someone else, such as a Kubernetes projected service-account
//! token (the kubelet rewrites it before it expires). The file is read again whenever its
//! modification time or length changes, or after a called service refused its token.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use secrecy::SecretString;

use super::same;
use crate::client::error::TokenError;
use crate::client::settings::FileTokenSettings;

#[derive(Debug)]
pub(super) struct FileToken {
    path: PathBuf,
    /// The token and the file's stamp when it was read. A plain mutex: it is never held
    /// across an await.
    cache: Mutex<Option<(Stamp, SecretString)>>,
}

/// What tells that the file changed. The kubelet swaps a symlink to a new file; the
/// metadata of the path follows it, so the stamp is the new file's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl FileToken {
    pub(super) fn new(settings: &FileTokenSettings) -> Result<Self, TokenError> {
        let path = settings.path.clone().filter(|p| !p.as_os_str().is_empty()).ok_or_else(|| {
            TokenError::Settings("token.file.path: set it to the token file (e.g. a projected token)".into())
        })?;
        Ok(Self { path, cache: Mutex::new(None) })
    }

    /// The file's token, read again only when the file changed. A stat and, on a change, a
    /// read of a small local file: cheap enough to do inline rather than on a blocking thread.
    pub(super) fn token(&self) -> Result<SecretString, TokenError> {
        let read_error = |source| TokenError::ReadFile { path: self.path.clone(), source };
        let metadata = std::fs::metadata(&self.path).map_err(read_error)?;
        let stamp = Stamp { modified: metadata.modified().ok(), len: metadata.len() };
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((cached_stamp, token)) = cache.as_ref()
            && *cached_stamp == stamp
        {
            return Ok(token.clone());
        }
        let text = std::fs::read_to_string(&self.path).map_err(read_error)?;
        let token = text.trim();
        if token.is_empty() {
            return Err(TokenError::EmptyFile { path: self.path.clone() });
        }
        tracing::debug!(path = %self.path.display(), "read the token file");
        let token = SecretString::from(token);
        *cache = Some((stamp, token.clone()));
        Ok(token)
    }

    pub(super) fn invalidate(&self, rejected: &SecretString) {
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.as_ref().is_some_and(|(_, token)| same(token, rejected)) {
            *cache = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::ExposeSecret;

    use super::*;

    fn source(path: PathBuf) -> FileToken {
        FileToken::new(&FileTokenSettings { path: Some(path) }).expect("a source")
    }

    fn token(source: &FileToken) -> String {
        source.token().expect("a token").expose_secret().to_owned()
    }

    /// Writes `text` and moves the modification time forward, as a rewrite a second later
    /// would (a coarse file-system clock could otherwise give two writes one time).
    fn rewrite(path: &std::path::Path, text: &str, seconds_later: u64) {
        std::fs::write(path, text).expect("write");
        let file = std::fs::File::options().write(true).open(path).expect("open");
        file.set_modified(SystemTime::now() + Duration::from_secs(seconds_later)).expect("set mtime");
    }

    #[test]
    fn the_token_is_read_trimmed_and_read_again_when_the_file_is_rewritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        rewrite(&path, "first-token\n", 0);
        let source = source(path.clone());

        assert_eq!(token(&source), "first-token");
        rewrite(&path, "second-token\n", 1);

        assert_eq!(token(&source), "second-token");
    }

    #[test]
    fn an_unchanged_file_is_not_read_again_until_its_token_is_invalidated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        rewrite(&path, "token-aaa", 0);
        let source = source(path.clone());
        let first = source.token().expect("a token");
        let stamp = std::fs::metadata(&path).expect("metadata").modified().expect("mtime");

        // Same length, same time: only the content differs, which the stamp does not see.
        std::fs::write(&path, "token-bbb").expect("write");
        std::fs::File::options().write(true).open(&path).expect("open").set_modified(stamp).expect("mtime");
        assert_eq!(token(&source), "token-aaa", "served from the cache");

        source.invalidate(&first);
        assert_eq!(token(&source), "token-bbb");
    }

    #[test]
    fn a_missing_or_empty_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        let source = source(path.clone());

        let missing = source.token().expect_err("no file");
        std::fs::write(&path, "\n").expect("write");
        let empty = source.token().expect_err("empty file");

        assert!(matches!(&missing, TokenError::ReadFile { .. }) && missing.is_transient(), "{missing}");
        assert!(missing.to_string().contains(&path.display().to_string()));
        assert!(matches!(empty, TokenError::EmptyFile { .. }));
    }

    #[test]
    fn a_file_source_needs_a_path() {
        assert!(matches!(FileToken::new(&FileTokenSettings { path: None }), Err(TokenError::Settings(_))));
    }
}
