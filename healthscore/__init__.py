"""healthscore: warehouse-native customer health scores."""
