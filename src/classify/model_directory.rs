//! A directory of model versions with an "active" pointer.
//!
//! Layout: `model-000001.cgm`, `model-000002.cgm`, … (one file per version, numbered from 1)
//! and `ACTIVE`, a text file holding the active version number.
//!
//! Both kinds of file are written to a temporary name, synced, then moved into place, so a
//! reader (another gateway process, or this one after a crash) sees either the old or the new
//! state, never a torn file. A version file is published with a hard link, which fails if the
//! name exists: two concurrent `save`s get different numbers instead of overwriting each other.
//! The pointer is switched with `rename`, which replaces it atomically.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::metadata::ModelMeta;
use super::model::Model;
use super::persist::{ModelFileError, read_meta, read_model, write_model};

const ACTIVE: &str = "ACTIVE";
const PREFIX: &str = "model-";
const SUFFIX: &str = ".cgm";

/// Why an operation on the model directory failed.
#[derive(Debug, thiserror::Error)]
pub enum ModelDirectoryError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("model version {version}: {source}")]
    File {
        version: u32,
        source: ModelFileError,
    },
    #[error("no model version {0}")]
    NoSuchVersion(u32),
    #[error("the active pointer holds `{0}`, which is not a version number")]
    BadPointer(String),
}

/// One stored version, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct ModelVersion {
    pub version: u32,
    pub active: bool,
    /// Size of the model file in bytes.
    pub file_bytes: u64,
    pub meta: ModelMeta,
}

/// Model versions in one directory.
#[derive(Debug, Clone)]
pub struct ModelDirectory {
    dir: PathBuf,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ModelDirectoryError + '_ {
    move |source| ModelDirectoryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl ModelDirectory {
    /// Opens (creating if needed) the model directory `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<ModelDirectory, ModelDirectoryError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        Ok(ModelDirectory { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of a version's file.
    pub fn path_of(&self, version: u32) -> PathBuf {
        self.dir.join(format!("{PREFIX}{version:06}{SUFFIX}"))
    }

    /// Stores `model` as a new version (one above the highest stored) and returns its number.
    /// The active pointer is not changed.
    pub fn save(&self, model: &Model) -> Result<u32, ModelDirectoryError> {
        let temporary = self.temporary_path("model");
        let result = self.write_temporary(&temporary, |out| write_model(model, out));
        if let Err(error) = result {
            let _ = fs::remove_file(&temporary);
            return Err(error);
        }
        let mut version = self.versions()?.last().map_or(1, |v| v + 1);
        loop {
            let path = self.path_of(version);
            match fs::hard_link(&temporary, &path) {
                Ok(()) => break,
                // Another writer took this number in the meantime: take the next one.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => version += 1,
                Err(e) => {
                    let _ = fs::remove_file(&temporary);
                    return Err(io_error(&path)(e));
                }
            }
        }
        fs::remove_file(&temporary).map_err(io_error(&temporary))?;
        self.sync_dir()?;
        Ok(version)
    }

    /// Stores `model` as a new version and makes it active.
    pub fn save_and_activate(&self, model: &Model) -> Result<u32, ModelDirectoryError> {
        let version = self.save(model)?;
        self.activate(version)?;
        Ok(version)
    }

    /// Loads one version.
    pub fn load(&self, version: u32) -> Result<Model, ModelDirectoryError> {
        let path = self.path_of(version);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ModelDirectoryError::NoSuchVersion(version));
            }
            Err(e) => return Err(io_error(&path)(e)),
        };
        read_model(&mut BufReader::new(file))
            .map_err(|source| ModelDirectoryError::File { version, source })
    }

    /// Loads the active version, if one is set.
    pub fn load_active(&self) -> Result<Option<(u32, Model)>, ModelDirectoryError> {
        match self.active_version()? {
            Some(version) => Ok(Some((version, self.load(version)?))),
            None => Ok(None),
        }
    }

    /// Makes `version` the active one, after checking that its file is a readable model.
    pub fn activate(&self, version: u32) -> Result<(), ModelDirectoryError> {
        self.read_version_meta(version)?;
        let temporary = self.temporary_path("active");
        let result = self.write_temporary(&temporary, |out| writeln!(out, "{version}"));
        if let Err(error) = result {
            let _ = fs::remove_file(&temporary);
            return Err(error);
        }
        let pointer = self.dir.join(ACTIVE);
        fs::rename(&temporary, &pointer).map_err(io_error(&pointer))?;
        self.sync_dir()
    }

    /// The active version, or `None` if none was ever activated.
    pub fn active_version(&self) -> Result<Option<u32>, ModelDirectoryError> {
        let pointer = self.dir.join(ACTIVE);
        match fs::read_to_string(&pointer) {
            Ok(text) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ModelDirectoryError::BadPointer(text.trim().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&pointer)(e)),
        }
    }

    /// Every stored version with its self-description, oldest first. Weights are not loaded.
    pub fn list(&self) -> Result<Vec<ModelVersion>, ModelDirectoryError> {
        let active = self.active_version()?;
        self.versions()?
            .into_iter()
            .map(|version| {
                let meta = self.read_version_meta(version)?;
                let path = self.path_of(version);
                let file_bytes = fs::metadata(&path).map_err(io_error(&path))?.len();
                Ok(ModelVersion {
                    version,
                    active: active == Some(version),
                    file_bytes,
                    meta,
                })
            })
            .collect()
    }

    fn read_version_meta(&self, version: u32) -> Result<ModelMeta, ModelDirectoryError> {
        let path = self.path_of(version);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ModelDirectoryError::NoSuchVersion(version));
            }
            Err(e) => return Err(io_error(&path)(e)),
        };
        read_meta(&mut BufReader::new(file))
            .map_err(|source| ModelDirectoryError::File { version, source })
    }

    /// Version numbers present in the directory, ascending.
    fn versions(&self) -> Result<Vec<u32>, ModelDirectoryError> {
        let mut versions = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_error(&self.dir))? {
            let entry = entry.map_err(io_error(&self.dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(number) = name
                .strip_prefix(PREFIX)
                .and_then(|n| n.strip_suffix(SUFFIX))
            {
                if let Ok(version) = number.parse::<u32>() {
                    versions.push(version);
                }
            }
        }
        versions.sort_unstable();
        Ok(versions)
    }

    fn temporary_path(&self, kind: &str) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        self.dir
            .join(format!(".{kind}.{}.{n}.tmp", std::process::id()))
    }

    fn write_temporary(
        &self,
        path: &Path,
        write: impl FnOnce(&mut BufWriter<&File>) -> std::io::Result<()>,
    ) -> Result<(), ModelDirectoryError> {
        let file = File::create(path).map_err(io_error(path))?;
        let mut out = BufWriter::new(&file);
        write(&mut out)
            .and_then(|()| out.flush())
            .map_err(io_error(path))?;
        drop(out);
        file.sync_all().map_err(io_error(path))
    }

    /// Makes the rename/link itself durable (the directory entry), not only the file's bytes.
    fn sync_dir(&self) -> Result<(), ModelDirectoryError> {
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io_error(&self.dir))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::classify::fixtures::{en, small_config, zh};
    use crate::classify::model::PredictScratch;
    use crate::classify::train::train;

    fn model_of(examples: &[crate::classify::Example]) -> Model {
        let at = Utc.with_ymd_and_hms(2024, 5, 20, 8, 30, 0).unwrap();
        train(examples, &small_config(), at, &|_| {}).unwrap()
    }

    #[test]
    fn a_saved_model_loads_back_with_identical_predictions() {
        let dir = tempfile::tempdir().unwrap();
        let models = ModelDirectory::open(dir.path()).unwrap();
        let model = model_of(&zh());
        let version = models.save(&model).unwrap();
        let loaded = models.load(version).unwrap();
        // (Floats in the JSON header may differ in the last bit after parsing; the weights
        // are binary and exact, which the predictions below check.)
        let (m, l) = (model.meta(), loaded.meta());
        assert_eq!(
            (&l.labels, &l.features, &l.training.config),
            (&m.labels, &m.features, &m.training.config)
        );
        assert_eq!(l.training.trained_at, m.training.trained_at);
        assert_eq!(l.calibration.temperature, m.calibration.temperature);
        let (mut a, mut b) = (PredictScratch::default(), PredictScratch::default());
        for example in zh().iter().chain(en().iter()) {
            let title = example.title.as_deref();
            model.score_into(title, &example.body, &mut a);
            loaded.score_into(title, &example.body, &mut b);
            assert_eq!(a.scores(), b.scores());
            assert_eq!(a.probabilities(), b.probabilities());
        }
    }

    #[test]
    fn versions_are_numbered_listed_and_activated_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let models = ModelDirectory::open(dir.path().join("models")).unwrap();
        assert_eq!(models.active_version().unwrap(), None);
        assert!(models.load_active().unwrap().is_none());
        let first = models.save_and_activate(&model_of(&zh())).unwrap();
        let second = models.save(&model_of(&en())).unwrap();
        assert_eq!((first, second), (1, 2));
        assert_eq!(models.active_version().unwrap(), Some(1));
        let listed = models.list().unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|v| (v.version, v.active))
                .collect::<Vec<_>>(),
            vec![(1, true), (2, false)]
        );
        assert_eq!(
            listed[1].meta.labels,
            vec!["noise", "roads", "sanitation", "transit"]
        );
        assert!(listed[0].file_bytes > 0);
        models.activate(2).unwrap();
        let (active, model) = models.load_active().unwrap().unwrap();
        assert_eq!(active, 2);
        assert_eq!(model.labels()[0], "noise");
        // No temporary file is left behind.
        let names: Vec<String> = fs::read_dir(models.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
        assert!(matches!(
            models.activate(9),
            Err(ModelDirectoryError::NoSuchVersion(9))
        ));
        assert_eq!(
            models.active_version().unwrap(),
            Some(2),
            "a failed switch keeps the pointer"
        );
    }

    #[test]
    fn a_damaged_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let models = ModelDirectory::open(dir.path()).unwrap();
        let version = models.save(&model_of(&en())).unwrap();
        let path = models.path_of(version);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        fs::write(&path, &bytes).unwrap();
        let error = models.load(version).unwrap_err();
        assert!(
            matches!(
                error,
                ModelDirectoryError::File {
                    source: ModelFileError::Corrupt(_),
                    ..
                }
            ),
            "{error}"
        );
        fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(matches!(
            models.load(version),
            Err(ModelDirectoryError::File {
                source: ModelFileError::Corrupt(_),
                ..
            })
        ));
        fs::write(&path, b"not a model").unwrap();
        assert!(matches!(
            models.load(version),
            Err(ModelDirectoryError::File {
                source: ModelFileError::NotAModel,
                ..
            })
        ));
    }

    #[test]
    fn another_format_version_is_refused_by_name() {
        let model = model_of(&en());
        let mut bytes = Vec::new();
        crate::classify::persist::write_model(&model, &mut bytes).unwrap();
        let needle = format!("\"format_version\": {}", crate::classify::FORMAT_VERSION);
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle.as_bytes())
            .expect("the header names its version");
        // Same length, so the header length prefix stays valid.
        bytes[at + needle.len() - 1] = b'9';
        let error = crate::classify::persist::read_model(&mut bytes.as_slice()).unwrap_err();
        assert!(
            matches!(error, ModelFileError::UnsupportedVersion { found: 9, .. }),
            "{error}"
        );
    }
}
