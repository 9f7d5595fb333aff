//! Raw records compressed at rest: zstd with a dictionary trained per tenant.
//!
//! A tenant's records are much alike (the same channels, field names, hosts and
//! paths), so a small dictionary trained on its first records shrinks each one several
//! times over where compressing a record alone gains little. The store's one bound on
//! ingest is the disk (every record goes to the WAL, then to the database), so fewer
//! bytes per record is both room and speed.
//!
//! - A tenant's first [`TRAIN_AFTER`] records are stored as received (codec 0). The
//!   append that reaches that count trains a dictionary ([`DICT_BYTES`]) on the latest
//!   of them and on its own batch, stores it in `line_dicts`, and compresses its batch
//!   with it; later appends use it too. A record whose compressed form is not smaller
//!   is stored as received.
//! - A row's `codec` names the dictionary (its `line_dicts` id); readers decompress
//!   with it, whatever dictionary the tenant uses by then. Dictionaries are never
//!   deleted.
//! - If training fails (too few or too uniform samples), the tenant's records stay as
//!   received and training is tried again once it has twice as many.
//!
//! Prepared dictionaries are cached in memory per tenant (compression) and per id
//! (decompression, for every connection). With its tenant's dictionary cached, an
//! append compresses before it takes the writer's lock; a dictionary trained in an
//! append is cached only once that append has committed, so no row ever names a
//! dictionary that rolled back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension};
use watchfloor_event::{TenantId, Timestamp};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

use crate::StoreError;
use crate::ids;
use crate::ingest::MAX_RECORD_BYTES;

/// Records a tenant stores as received before its dictionary is trained.
pub const TRAIN_AFTER: u64 = 2_000;
/// The most records a dictionary is trained on.
const TRAIN_SAMPLES: usize = 4_000;
/// The most bytes of samples a dictionary is trained on.
const TRAIN_BYTES: usize = 2 * 1024 * 1024;
/// The size a dictionary is trained to.
pub const DICT_BYTES: usize = 64 * 1024;
/// The zstd level: fast, since ingest compresses on the request's path.
const LEVEL: i32 = 3;
/// The codec of a record stored as received.
pub const RAW: i64 = 0;

/// What a tenant compresses with.
enum Plan {
    /// No dictionary yet: train once the tenant has this many records.
    TrainAt(u64),
    Dictionary(i64, Arc<EncoderDictionary<'static>>),
}

/// The store's dictionaries, prepared.
#[derive(Default)]
pub(crate) struct Codecs {
    plans: Mutex<HashMap<TenantId, Plan>>,
    decoders: Mutex<HashMap<i64, Arc<DecoderDictionary<'static>>>>,
}

impl std::fmt::Debug for Codecs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codecs").finish_non_exhaustive()
    }
}

/// How many records `tenant` has stored, counted up to `cap`.
fn tenant_records(conn: &Connection, tenant: TenantId, cap: u64) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM (SELECT 1 FROM ingest WHERE tenant_id = ?1 LIMIT ?2)",
        )?
        .query_row(
            (
                ids::tenant_to_sql(tenant),
                i64::try_from(cap).unwrap_or(i64::MAX),
            ),
            |r| r.get(0),
        )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Trains a dictionary on `tenant`'s latest stored records (as received) and `batch`.
fn train(conn: &Connection, tenant: TenantId, batch: &[&[u8]]) -> Option<Vec<u8>> {
    let mut samples: Vec<Vec<u8>> = Vec::new();
    let mut bytes = 0;
    for line in batch.iter().take(TRAIN_SAMPLES) {
        if bytes >= TRAIN_BYTES {
            break;
        }
        bytes += line.len();
        samples.push(line.to_vec());
    }
    if samples.len() < TRAIN_SAMPLES && bytes < TRAIN_BYTES {
        let mut stmt = conn
            .prepare_cached(
                "SELECT line FROM ingest WHERE tenant_id = ?1 AND codec = 0
                 ORDER BY id DESC LIMIT ?2",
            )
            .ok()?;
        let want = (TRAIN_SAMPLES - samples.len()) as i64;
        let rows = stmt
            .query_map((ids::tenant_to_sql(tenant), want), |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .ok()?;
        for line in rows.flatten() {
            if bytes >= TRAIN_BYTES {
                break;
            }
            bytes += line.len();
            samples.push(line);
        }
    }
    // zstd wants samples of at least a few bytes and enough of them.
    samples.retain(|s| s.len() >= 8);
    if samples.len() < 100 {
        return None;
    }
    zstd::dict::from_samples(&samples, DICT_BYTES).ok()
}

/// A trained dictionary not yet committed: the caller publishes it
/// ([`Codecs::publish`]) once the append that stored it has committed, so no other
/// append compresses with a dictionary that could still roll back.
pub(crate) struct Trained(TenantId, i64, Arc<EncoderDictionary<'static>>);

/// Each line's codec and stored bytes.
pub(crate) type StoredLines = Vec<(i64, Vec<u8>)>;

fn compress_with(id: i64, dict: &EncoderDictionary<'_>, lines: &[&[u8]]) -> StoredLines {
    let mut cctx = zstd::zstd_safe::CCtx::create();
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let mut small = Vec::with_capacity(zstd::zstd_safe::compress_bound(line.len()));
        match cctx.compress_using_cdict(&mut small, line, dict.as_cdict()) {
            Ok(_) if small.len() < line.len() => out.push((id, small)),
            _ => out.push((RAW, line.to_vec())),
        }
    }
    out
}

fn as_received(lines: &[&[u8]]) -> StoredLines {
    lines.iter().map(|l| (RAW, l.to_vec())).collect()
}

impl Codecs {
    /// Compresses `lines` if `tenant`'s dictionary is known already; needs no
    /// connection, so ingest does it before taking the writer's lock.
    pub(crate) fn compress_known(&self, tenant: TenantId, lines: &[&[u8]]) -> Option<StoredLines> {
        let plans = self.plans.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(Plan::Dictionary(id, dict)) = plans.get(&tenant) else {
            return None;
        };
        let (id, dict) = (*id, Arc::clone(dict));
        drop(plans);
        Some(compress_with(id, &dict, lines))
    }

    /// Compresses `lines` for `tenant`, training its dictionary first when it is due.
    /// Returns each line's codec and stored bytes, and the dictionary trained here, if
    /// any, to publish after the commit. Runs under the writer's lock, in the append's
    /// transaction (a dictionary trained here is stored with the batch).
    pub(crate) fn compress(
        &self,
        conn: &Connection,
        tenant: TenantId,
        lines: &[&[u8]],
        now: Timestamp,
    ) -> Result<(StoredLines, Option<Trained>), StoreError> {
        let mut plans = self.plans.lock().unwrap_or_else(PoisonError::into_inner);
        if let std::collections::hash_map::Entry::Vacant(slot) = plans.entry(tenant) {
            let stored: Option<(i64, Vec<u8>)> = conn
                .prepare_cached(
                    "SELECT id, dict FROM line_dicts WHERE tenant_id = ?1 ORDER BY id DESC LIMIT 1",
                )?
                .query_row([ids::tenant_to_sql(tenant)], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            slot.insert(match stored {
                Some((id, dict)) => {
                    Plan::Dictionary(id, Arc::new(EncoderDictionary::copy(&dict, LEVEL)))
                }
                None => Plan::TrainAt(TRAIN_AFTER),
            });
        }
        let at = match plans.get(&tenant) {
            Some(Plan::Dictionary(id, dict)) => {
                let (id, dict) = (*id, Arc::clone(dict));
                drop(plans);
                return Ok((compress_with(id, &dict, lines), None));
            }
            Some(Plan::TrainAt(at)) => *at,
            None => return Ok((as_received(lines), None)),
        };
        let have = tenant_records(conn, tenant, at)?;
        if have + (lines.len() as u64) < at {
            return Ok((as_received(lines), None));
        }
        let Some(dict) = train(conn, tenant, lines) else {
            plans.insert(tenant, Plan::TrainAt(at.saturating_mul(2)));
            return Ok((as_received(lines), None));
        };
        drop(plans);
        conn.prepare_cached(
            "INSERT INTO line_dicts (tenant_id, created_at_ns, dict) VALUES (?1, ?2, ?3)",
        )?
        .execute((ids::tenant_to_sql(tenant), now.as_nanos(), &dict))?;
        let id = conn.last_insert_rowid();
        let prepared = Arc::new(EncoderDictionary::copy(&dict, LEVEL));
        let out = compress_with(id, &prepared, lines);
        Ok((out, Some(Trained(tenant, id, prepared))))
    }

    /// Makes a dictionary trained by a committed append the tenant's.
    pub(crate) fn publish(&self, trained: Trained) {
        let Trained(tenant, id, dict) = trained;
        self.plans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(tenant, Plan::Dictionary(id, dict));
    }

    /// A decoder of stored records, for one read (it keeps a zstd context).
    pub(crate) fn decoder_for_read(&self) -> LineDecoder<'_> {
        LineDecoder {
            codecs: self,
            dctx: zstd::zstd_safe::DCtx::create(),
        }
    }

    fn decoder(
        &self,
        conn: &Connection,
        id: i64,
    ) -> Result<Arc<DecoderDictionary<'static>>, StoreError> {
        if let Some(d) = self
            .decoders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return Ok(Arc::clone(d));
        }
        let dict: Vec<u8> = conn
            .prepare_cached("SELECT dict FROM line_dicts WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::Corrupt(
                "a stored record names an unknown dictionary",
            ))?;
        let d = Arc::new(DecoderDictionary::copy(&dict));
        self.decoders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, Arc::clone(&d));
        Ok(d)
    }
}

/// Gives back records as received; one per read, reused for each of its rows.
pub(crate) struct LineDecoder<'c> {
    codecs: &'c Codecs,
    dctx: zstd::zstd_safe::DCtx<'static>,
}

impl LineDecoder<'_> {
    /// The record as received, from its stored bytes and codec. `conn` reads the
    /// dictionary the first time it is needed.
    pub(crate) fn line(
        &mut self,
        conn: &Connection,
        codec: i64,
        stored: Vec<u8>,
    ) -> Result<Vec<u8>, StoreError> {
        if codec == RAW {
            return Ok(stored);
        }
        let dict = self.codecs.decoder(conn, codec)?;
        let size = zstd::zstd_safe::get_frame_content_size(&stored)
            .ok()
            .flatten()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n <= MAX_RECORD_BYTES)
            .ok_or(StoreError::Corrupt("a stored record's size cannot be read"))?;
        let mut line = Vec::with_capacity(size);
        self.dctx
            .decompress_using_ddict(&mut line, &stored, dict.as_ddict())
            .map_err(|_| StoreError::Corrupt("a stored record does not decompress"))?;
        Ok(line)
    }
}
