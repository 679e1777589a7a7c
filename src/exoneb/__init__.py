"""exoneb: running exosome inhalation therapy sessions, with a lung-dose model.

exoneb is decision support and record keeping for clinics and trials. It is not
medical advice and never replaces the patient's prescribed respiratory care.
"""

__version__ = "0.1.0"
