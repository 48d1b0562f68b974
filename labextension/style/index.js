import './base.css';
import './manifest.css';
