//! The processes a command runs on: one, or (with the `mpi` feature, under `mpirun`
//! or `srun`) every rank of the MPI job.
//!
//! All ranks execute the same command with the same arguments. Most failures are
//! therefore identical everywhere (a bad `--set`, an unsafe routing configuration, a
//! deadlock, which the engine decides on global values) and every rank simply returns
//! the error; rank 0 alone prints it. What can differ between ranks is the environment
//! (a config file missing on one node, an unwritable output on rank 0): those cases go
//! through [`Par::agree`] or [`Par::any`] so that no rank is left waiting in a
//! collective for a rank that has already given up.

use torsim::engine::comm::{Comm, LocalComm};

pub struct Par {
    /// Kept alive for the whole command: dropping it finalises MPI.
    #[cfg(feature = "mpi")]
    universe: Option<mpi::environment::Universe>,
    rank: usize,
    size: usize,
}

impl Par {
    /// One process, no MPI.
    pub fn serial() -> Self {
        Par {
            #[cfg(feature = "mpi")]
            universe: None,
            rank: 0,
            size: 1,
        }
    }

    /// Initialises MPI (once per process). Without a launcher this is a one-rank job.
    ///
    /// MPI is asked for `Funneled` threading: `--threads` workers advance partitions
    /// but only the main thread makes MPI calls.
    #[cfg(feature = "mpi")]
    pub fn init_mpi() -> Result<Self, String> {
        use mpi::traits::Communicator;
        let (universe, _provided) = mpi::initialize_with_threading(mpi::Threading::Funneled)
            .ok_or("MPI was already initialised")?;
        let world = universe.world();
        Ok(Par {
            rank: usize::try_from(world.rank()).unwrap_or(0),
            size: usize::try_from(world.size()).unwrap_or(1),
            universe: Some(universe),
        })
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Rank 0 prints, writes files and shows progress; the others stay silent.
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// The communicator for one run.
    pub fn comm(&self) -> Box<dyn Comm> {
        #[cfg(feature = "mpi")]
        if let (Some(u), true) = (&self.universe, self.size > 1) {
            return Box::new(torsim::engine::mpi_comm::MpiComm::new(u));
        }
        Box::new(LocalComm)
    }

    /// A result every rank must share (e.g. reading the config). Succeeding or failing
    /// everywhere returns it as is. If only some ranks failed, they could not continue
    /// while the others would wait for them in the first collective: the failing ranks
    /// print their error and abort the whole job; the others wait to be ended by it.
    pub fn agree<T>(&self, r: Result<T, String>) -> Result<T, String> {
        if self.size == 1 {
            return r;
        }
        let comm = self.comm();
        let ok = u64::from(r.is_ok());
        let (lo, hi) = (comm.all_min(ok), comm.all_max(ok));
        if lo == hi {
            return r;
        }
        self.abort_mixed(r)
    }

    #[cfg(feature = "mpi")]
    fn abort_mixed<T>(&self, r: Result<T, String>) -> Result<T, String> {
        use mpi::traits::{Communicator, CommunicatorCollectives};
        let Some(u) = &self.universe else {
            return r;
        };
        let world = u.world();
        match r {
            Err(msg) => {
                eprintln!(
                    "torsim: rank {}: {} (other ranks succeeded; aborting the job)",
                    self.rank,
                    msg.trim_end()
                );
                world.abort(1)
            }
            // Never completes: the failing ranks abort instead of joining.
            Ok(_) => {
                world.barrier();
                world.abort(1)
            }
        }
    }

    #[cfg(not(feature = "mpi"))]
    fn abort_mixed<T>(&self, r: Result<T, String>) -> Result<T, String> {
        r
    }

    /// Whether `failed` holds on any rank (a collective; every rank must call it).
    pub fn any(&self, failed: bool) -> bool {
        if self.size == 1 {
            return failed;
        }
        self.comm().all_max(u64::from(failed)) > 0
    }

    /// Fails on every rank unless all ranks hold the same `bytes` (e.g. the resolved
    /// config: ranks on different nodes could read different files of the same name,
    /// and would then simulate different networks in lock-step).
    pub fn same_everywhere(&self, what: &str, bytes: &[u8]) -> Result<(), String> {
        if self.size == 1 {
            return Ok(());
        }
        let h = fnv1a(bytes);
        let comm = self.comm();
        if comm.all_min(h) != comm.all_max(h) {
            return Err(format!(
                "the ranks of this job do not all see the same {what} (different files on different nodes?)"
            ));
        }
        Ok(())
    }
}

/// FNV-1a: a stable 64-bit hash (the standard library's may change between releases,
/// and ranks could in principle run different builds).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Environment variables by which launchers tell a process how many tasks its job has:
/// Open MPI's mpirun, PMI-1/PMI-2 (MPICH, `srun --mpi=pmi2`), MPICH's Hydra, and srun
/// itself (set for the tasks of a job step, not in the batch script that starts it).
#[cfg_attr(feature = "mpi", allow(dead_code))]
const TASK_COUNT_VARS: &[&str] = &[
    "OMPI_COMM_WORLD_SIZE",
    "PMI_SIZE",
    "MPI_LOCALNRANKS",
    "SLURM_STEP_NUM_TASKS",
];

/// The first launcher variable (read through `get`) that says this process is one of
/// several tasks, with the task count.
#[cfg_attr(feature = "mpi", allow(dead_code))]
pub fn launched_tasks(get: impl Fn(&str) -> Option<String>) -> Option<(&'static str, usize)> {
    TASK_COUNT_VARS.iter().find_map(|&k| {
        let n = get(k)?.trim().parse::<usize>().ok()?;
        (n > 1).then_some((k, n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_is_transparent() {
        let p = Par::serial();
        assert!(p.is_root());
        assert_eq!(p.agree::<u8>(Err("x".into())), Err("x".into()));
        assert!(p.any(true));
        assert!(!p.any(false));
        assert!(p.same_everywhere("config", b"abc").is_ok());
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
    }

    #[test]
    fn several_tasks_are_recognised_by_any_launcher_variable() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(launched_tasks(env(&[])), None);
        assert_eq!(launched_tasks(env(&[("SLURM_STEP_NUM_TASKS", "1")])), None);
        assert_eq!(launched_tasks(env(&[("SLURM_NTASKS", "4")])), None);
        assert_eq!(
            launched_tasks(env(&[("SLURM_STEP_NUM_TASKS", "2")])),
            Some(("SLURM_STEP_NUM_TASKS", 2))
        );
        assert_eq!(
            launched_tasks(env(&[("OMPI_COMM_WORLD_SIZE", "8"), ("PMI_SIZE", "junk")])),
            Some(("OMPI_COMM_WORLD_SIZE", 8))
        );
    }
}
