"""Live exam sessions over WebRTC: signalling, the candidate's control socket, track intake, recording parts."""
