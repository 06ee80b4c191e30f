pub mod evolver;
