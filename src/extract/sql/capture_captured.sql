-- The columns the triggers of $1 record today (another deployment may need more than we do).
SELECT key_column FROM pg2es.captured WHERE relation = $1
